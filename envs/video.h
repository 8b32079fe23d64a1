#pragma once
/// Video files from rendered frames: animated GIF (own encoder: fixed 6x7x6 colour cube, LZW) and
/// MP4 through the ffmpeg command-line tool.
#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "envs/render.h"

namespace mbrl {

class VideoWriter {
 public:
  /// Opens `path` (.gif, or .mp4 if ffmpeg is on PATH) for width x height frames played at
  /// `fps`. Throws mbrl::Error for other extensions or a missing ffmpeg.
  static std::unique_ptr<VideoWriter> Open(const std::string& path, int width, int height,
                                           double fps);
  virtual ~VideoWriter() = default;
  /// Appends a frame of the opened size.
  virtual void Add(const Frame& frame) = 0;
  /// Completes the file; throws mbrl::Error on a write failure. Only the first call acts.
  virtual void Close() = 0;
};

/// True if an executable `ffmpeg` is on PATH.
bool FfmpegAvailable();

/// The GIF palette: 252 colours of a 6 (red) x 7 (green) x 6 (blue) cube, then black; RGB triples.
const std::array<uint8_t, 768>& GifPalette();
/// Palette indices [H*W] of a frame (nearest cube colour per channel).
std::vector<uint8_t> GifQuantize(const Frame& frame);
/// GIF LZW code stream (minimum code size 8) of palette indices, packed LSB first, without the
/// sub-block framing.
std::vector<uint8_t> GifLzw(const std::vector<uint8_t>& indices);

}  // namespace mbrl
