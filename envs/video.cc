#include "envs/video.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "mbrl/core/check.h"

namespace mbrl {
namespace {

constexpr int kRed = 6, kGreen = 7, kBlue = 6;

int Level(uint8_t v, int levels) { return (v * (levels - 1) + 127) / 255; }

// LSB-first bit packer of variable-width codes.
class BitWriter {
 public:
  explicit BitWriter(std::vector<uint8_t>* out) : out_(out) {}
  void Put(int code, int bits) {
    acc_ |= static_cast<uint32_t>(code) << n_;
    n_ += bits;
    while (n_ >= 8) {
      out_->push_back(static_cast<uint8_t>(acc_ & 0xff));
      acc_ >>= 8;
      n_ -= 8;
    }
  }
  void Flush() {
    if (n_ > 0) out_->push_back(static_cast<uint8_t>(acc_ & 0xff));
    acc_ = 0;
    n_ = 0;
  }

 private:
  std::vector<uint8_t>* out_;
  uint32_t acc_ = 0;
  int n_ = 0;
};

int BitLength(int v) {
  int n = 0;
  while (v) {
    ++n;
    v >>= 1;
  }
  return n;
}

void Put16(std::FILE* f, int v) {
  std::fputc(v & 0xff, f);
  std::fputc((v >> 8) & 0xff, f);
}

class GifWriter : public VideoWriter {
 public:
  GifWriter(const std::string& path, int width, int height, double fps)
      : path_(path), width_(width), height_(height), frame_cs_(100.0 / fps) {
    f_ = std::fopen(path.c_str(), "wb");
    MBRL_CHECK(f_, path, ": cannot open for writing");
    std::fwrite("GIF89a", 1, 6, f_);
    Put16(f_, width);
    Put16(f_, height);
    const uint8_t screen[3] = {0xf7, 0, 0};  // global table of 256 colours, 8-bit resolution
    std::fwrite(screen, 1, 3, f_);
    std::fwrite(GifPalette().data(), 1, 768, f_);
    // NETSCAPE2.0 extension: loop forever
    const uint8_t loop[19] = {0x21, 0xff, 11,  'N', 'E', 'T', 'S', 'C', 'A', 'P',
                              'E',  '2',  '.', '0', 3,   1,   0,   0,   0};
    std::fwrite(loop, 1, sizeof(loop), f_);
  }
  ~GifWriter() override {
    try {
      Close();
    } catch (const std::exception&) {
    }
  }

  // Frames closer than 2 centiseconds (viewers' minimum delay) to the last kept one are dropped;
  // each kept frame is written once the next is known, with the rounded time between them.
  void Add(const Frame& frame) override {
    MBRL_CHECK(f_, path_, ": video already closed");
    MBRL_CHECK(frame.width == width_ && frame.height == height_, "video frame size ", frame.width,
               "x", frame.height, " != ", width_, "x", height_);
    const double t = frame_cs_ * count_++;
    if (!pending_.empty()) {
      if (t - pending_t_ < 2.0) return;
      WriteFrame(pending_, std::lround(t) - std::lround(pending_t_));
    }
    pending_ = GifQuantize(frame);
    pending_t_ = t;
  }

  void Close() override {
    if (!f_) return;
    if (!pending_.empty()) WriteFrame(pending_, std::max(2L, std::lround(frame_cs_)));
    pending_.clear();
    std::fputc(0x3b, f_);  // trailer
    const bool ok = !std::ferror(f_);
    const bool closed = std::fclose(f_) == 0;
    f_ = nullptr;
    MBRL_CHECK(ok && closed, path_, ": write failed");
  }

 private:
  void WriteFrame(const std::vector<uint8_t>& indices, long delay_cs) {
    const int delay = static_cast<int>(std::min(65535L, std::max(0L, delay_cs)));
    const uint8_t gce[4] = {0x21, 0xf9, 4, 0x04};  // disposal: leave in place
    std::fwrite(gce, 1, 4, f_);
    Put16(f_, delay);
    std::fputc(0, f_);  // no transparent colour
    std::fputc(0, f_);
    std::fputc(0x2c, f_);  // image descriptor: full screen, no local table
    Put16(f_, 0);
    Put16(f_, 0);
    Put16(f_, width_);
    Put16(f_, height_);
    std::fputc(0, f_);
    std::fputc(8, f_);  // LZW minimum code size
    const std::vector<uint8_t> data = GifLzw(indices);
    for (size_t i = 0; i < data.size(); i += 255) {
      const size_t n = std::min<size_t>(255, data.size() - i);
      std::fputc(static_cast<int>(n), f_);
      std::fwrite(&data[i], 1, n, f_);
    }
    std::fputc(0, f_);
  }

  std::string path_;
  int width_, height_;
  double frame_cs_;  // centiseconds per input frame
  std::FILE* f_ = nullptr;
  int64_t count_ = 0;
  std::vector<uint8_t> pending_;
  double pending_t_ = 0;
};

std::string ShellQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Pipes raw RGB frames into `ffmpeg`, which encodes H.264 (yuv420p, even size) in the mp4.
class FfmpegWriter : public VideoWriter {
 public:
  FfmpegWriter(const std::string& path, int width, int height, double fps)
      : path_(path), width_(width), height_(height) {
    std::ostringstream cmd;
    cmd << "ffmpeg -nostdin -y -loglevel error -f rawvideo -pix_fmt rgb24 -s " << width << "x"
        << height << " -r " << fps << " -i - -vf 'pad=ceil(iw/2)*2:ceil(ih/2)*2' "
        << "-pix_fmt yuv420p " << ShellQuote(path);
    pipe_ = popen(cmd.str().c_str(), "w");
    MBRL_CHECK(pipe_, "cannot start ffmpeg");
  }
  ~FfmpegWriter() override {
    try {
      Close();
    } catch (const std::exception&) {
    }
  }
  void Add(const Frame& frame) override {
    MBRL_CHECK(pipe_, path_, ": video already closed");
    MBRL_CHECK(frame.width == width_ && frame.height == height_, "video frame size ", frame.width,
               "x", frame.height, " != ", width_, "x", height_);
    MBRL_CHECK(std::fwrite(frame.rgb.data(), 1, frame.rgb.size(), pipe_) == frame.rgb.size(), path_,
               ": ffmpeg stopped reading frames");
  }
  void Close() override {
    if (!pipe_) return;
    const int status = pclose(pipe_);
    pipe_ = nullptr;
    MBRL_CHECK(status == 0, path_, ": ffmpeg failed (status ", status, ")");
  }

 private:
  std::string path_;
  int width_, height_;
  std::FILE* pipe_ = nullptr;
};

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

const std::array<uint8_t, 768>& GifPalette() {
  static const std::array<uint8_t, 768> palette = [] {
    std::array<uint8_t, 768> p{};
    int i = 0;
    for (int r = 0; r < kRed; ++r) {
      for (int g = 0; g < kGreen; ++g) {
        for (int b = 0; b < kBlue; ++b, ++i) {
          p[3 * i] = static_cast<uint8_t>((r * 255 + (kRed - 1) / 2) / (kRed - 1));
          p[3 * i + 1] = static_cast<uint8_t>((g * 255 + (kGreen - 1) / 2) / (kGreen - 1));
          p[3 * i + 2] = static_cast<uint8_t>((b * 255 + (kBlue - 1) / 2) / (kBlue - 1));
        }
      }
    }
    return p;  // entries 252..255 stay black
  }();
  return palette;
}

std::vector<uint8_t> GifQuantize(const Frame& frame) {
  const size_t n = static_cast<size_t>(frame.width) * frame.height;
  MBRL_CHECK(frame.rgb.size() == 3 * n, "frame has ", frame.rgb.size(), " bytes, expected ", 3 * n);
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = &frame.rgb[3 * i];
    out[i] = static_cast<uint8_t>((Level(p[0], kRed) * kGreen + Level(p[1], kGreen)) * kBlue +
                                  Level(p[2], kBlue));
  }
  return out;
}

// Codes 0..255 are the bytes, 256 clears, 257 ends. A code is written with as many bits as the
// decoder's table size needs; the decoder's table trails ours by one entry, hence next - 1.
std::vector<uint8_t> GifLzw(const std::vector<uint8_t>& indices) {
  constexpr int kClear = 256, kEnd = 257, kMaxCodes = 4096;
  std::vector<uint8_t> out;
  BitWriter bits(&out);
  std::vector<uint16_t> child(kMaxCodes * 256, 0);  // (prefix code, byte) -> code; 0 = none
  int next = kEnd + 1;
  auto width = [&next] { return std::max(9, BitLength(next - 1)); };
  bits.Put(kClear, 9);
  if (indices.empty()) {
    bits.Put(kEnd, 9);
    bits.Flush();
    return out;
  }
  int prefix = indices[0];
  for (size_t i = 1; i < indices.size(); ++i) {
    const uint8_t c = indices[i];
    const uint16_t known = child[prefix * 256 + c];
    if (known) {
      prefix = known;
      continue;
    }
    bits.Put(prefix, width());
    if (next < kMaxCodes) {
      child[prefix * 256 + c] = static_cast<uint16_t>(next++);
    } else {  // table full: start over
      bits.Put(kClear, width());
      std::fill(child.begin(), child.end(), 0);
      next = kEnd + 1;
    }
    prefix = c;
  }
  bits.Put(prefix, width());
  bits.Put(kEnd, width());
  bits.Flush();
  return out;
}

bool FfmpegAvailable() {
  const char* path = std::getenv("PATH");
  if (!path) return false;
  std::istringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (!dir.empty() && access((dir + "/ffmpeg").c_str(), X_OK) == 0) return true;
  }
  return false;
}

std::unique_ptr<VideoWriter> VideoWriter::Open(const std::string& path, int width, int height,
                                               double fps) {
  MBRL_CHECK(fps > 0, "video frame rate must be positive, got ", fps);
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  MBRL_CHECK(folder.empty() || std::filesystem::is_directory(folder), path, ": folder ",
             folder.string(), " does not exist");
  MBRL_CHECK(access(folder.empty() ? "." : folder.c_str(), W_OK) == 0, path, ": folder ",
             folder.empty() ? std::string(".") : folder.string(), " is not writable");
  if (EndsWith(path, ".gif")) return std::make_unique<GifWriter>(path, width, height, fps);
  if (EndsWith(path, ".mp4")) {
    MBRL_CHECK(FfmpegAvailable(), path,
               ": writing mp4 needs the ffmpeg command (not on PATH); install ffmpeg or use .gif");
    return std::make_unique<FfmpegWriter>(path, width, height, fps);
  }
  throw Error(path + ": unknown video format (use .gif or .mp4)");
}

}  // namespace mbrl
