#pragma once
/// Headless rendering of a MujocoEnv: an EGL context on Mesa's surfaceless platform (software
/// llvmpipe, no display or GPU needed) and MuJoCo's offscreen framebuffer.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "envs/mujoco_env.h"

namespace mbrl {

/// An RGB image, rows top to bottom: rgb[(y * width + x) * 3 + c].
struct Frame {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
};

class Renderer {
 public:
  /// Renders `env` (kept by reference) at width x height. Throws mbrl::Error if no OpenGL
  /// context can be created.
  Renderer(const MujocoEnv& env, int width, int height);
  ~Renderer();
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  /// The env's current state as seen by the default camera (tracks the root of mobile bodies).
  Frame Render();

  /// True if an offscreen OpenGL context can be created; otherwise `why` says why.
  static bool Available(std::string* why = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mbrl
