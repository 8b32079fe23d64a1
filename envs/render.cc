#include "envs/render.h"

#include <EGL/egl.h>
#include <EGL/eglext.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

#include "mbrl/core/check.h"

namespace mbrl {
namespace {

std::string EglError(const char* what) {
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%s failed (EGL error 0x%x)", what, eglGetError());
  return buf;
}

// The process's EGL display on Mesa's surfaceless platform, initialised once; on failure returns
// EGL_NO_DISPLAY and sets `why`.
EGLDisplay Display(std::string* why) {
  static std::once_flag once;
  static EGLDisplay display = EGL_NO_DISPLAY;
  static std::string error;
  std::call_once(once, [] {
    const char* ext = eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS);
    if (!ext || !std::strstr(ext, "EGL_MESA_platform_surfaceless")) {
      error = "EGL has no EGL_MESA_platform_surfaceless (install libegl-mesa0, libgl1-mesa-dri)";
      return;
    }
    auto get_display = reinterpret_cast<PFNEGLGETPLATFORMDISPLAYEXTPROC>(
        eglGetProcAddress("eglGetPlatformDisplayEXT"));
    EGLDisplay d = get_display
                       ? get_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, nullptr)
                       : EGL_NO_DISPLAY;
    if (d == EGL_NO_DISPLAY) {
      error = EglError("eglGetPlatformDisplayEXT");
      return;
    }
    EGLint major = 0, minor = 0;
    if (!eglInitialize(d, &major, &minor)) {
      error = EglError("eglInitialize");
      return;
    }
    display = d;
  });
  if (display == EGL_NO_DISPLAY && why) *why = error;
  return display;
}

// Creates an OpenGL context; on failure returns EGL_NO_CONTEXT and sets `why`.
EGLContext CreateContext(EGLDisplay display, std::string* why) {
  // the default surface type (window) has no configs on the surfaceless platform
  // clang-format off
  const EGLint attribs[] = {EGL_RED_SIZE, 8, EGL_GREEN_SIZE, 8, EGL_BLUE_SIZE, 8,
                            EGL_DEPTH_SIZE, 24, EGL_STENCIL_SIZE, 8,
                            EGL_SURFACE_TYPE, EGL_PBUFFER_BIT,
                            EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT, EGL_NONE};
  // clang-format on
  EGLConfig config;
  EGLint n = 0;
  if (!eglChooseConfig(display, attribs, &config, 1, &n) || n < 1) {
    *why = EglError("eglChooseConfig");
    return EGL_NO_CONTEXT;
  }
  if (!eglBindAPI(EGL_OPENGL_API)) {
    *why = EglError("eglBindAPI(EGL_OPENGL_API)");
    return EGL_NO_CONTEXT;
  }
  EGLContext ctx = eglCreateContext(display, config, EGL_NO_CONTEXT, nullptr);
  if (ctx == EGL_NO_CONTEXT) *why = EglError("eglCreateContext");
  return ctx;
}

}  // namespace

struct Renderer::Impl {
  const MujocoEnv* env;
  int width, height;
  EGLDisplay display = EGL_NO_DISPLAY;
  EGLContext ctx = EGL_NO_CONTEXT;
  mjData* scratch = nullptr;  // the env's state with its position-dependent quantities
  mjvScene scene;
  mjvCamera camera;
  mjvOption option;
  mjrContext context;
  bool follow = false;  // camera follows body 1
  bool made_context = false;
  std::vector<uint8_t> flipped;

  ~Impl() {
    if (made_context && eglMakeCurrent(display, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx)) {
      mjr_freeContext(&context);
    }
    mjv_freeScene(&scene);
    if (scratch) mj_deleteData(scratch);
    if (ctx != EGL_NO_CONTEXT) {
      eglMakeCurrent(display, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
      eglDestroyContext(display, ctx);
    }
  }

  void MakeCurrent() {
    MBRL_CHECK(eglMakeCurrent(display, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx),
               EglError("eglMakeCurrent"));
  }
};

bool Renderer::Available(std::string* why) {
  std::string error;
  EGLDisplay display = Display(&error);
  if (display != EGL_NO_DISPLAY) {
    EGLContext ctx = CreateContext(display, &error);
    if (ctx != EGL_NO_CONTEXT) {
      eglDestroyContext(display, ctx);
      return true;
    }
  }
  if (why) *why = error;
  return false;
}

Renderer::Renderer(const MujocoEnv& env, int width, int height) : impl_(new Impl) {
  MBRL_CHECK(width >= 8 && height >= 8 && width <= 4096 && height <= 4096,
             "video size must be within 8..4096, got ", width, "x", height);
  Impl& s = *impl_;
  s.env = &env;
  s.width = width;
  s.height = height;
  std::string why;
  s.display = Display(&why);
  MBRL_CHECK(s.display != EGL_NO_DISPLAY, "no offscreen OpenGL: ", why);
  mjv_defaultScene(&s.scene);
  mjv_defaultOption(&s.option);
  mjr_defaultContext(&s.context);
  s.ctx = CreateContext(s.display, &why);
  MBRL_CHECK(s.ctx != EGL_NO_CONTEXT, "no offscreen OpenGL: ", why);
  s.MakeCurrent();

  const mjModel* m = env.model();
  mjv_makeScene(m, &s.scene, 2000);
  // the offscreen buffer size comes from the model; enlarge it on a copy when needed
  if (width > m->vis.global.offwidth || height > m->vis.global.offheight) {
    mjModel* big = mj_copyModel(nullptr, m);
    big->vis.global.offwidth = std::max(width, m->vis.global.offwidth);
    big->vis.global.offheight = std::max(height, m->vis.global.offheight);
    mjr_makeContext(big, &s.context, mjFONTSCALE_100);
    mj_deleteModel(big);
  } else {
    mjr_makeContext(m, &s.context, mjFONTSCALE_100);
  }
  s.made_context = true;
  mjr_setBuffer(mjFB_OFFSCREEN, &s.context);
  MBRL_CHECK(s.context.currentBuffer == mjFB_OFFSCREEN, "MuJoCo offscreen buffer unavailable");
  s.scratch = mj_makeData(m);

  // free camera on fixed-base tasks; on mobile ones (free or planar root body) it follows the
  // root's subtree centre of mass in x and y at a fixed height
  mjv_defaultFreeCamera(m, &s.camera);
  s.follow =
      m->nbody > 1 && (m->body_jntnum[1] >= 3 ||
                       (m->body_jntnum[1] >= 1 && m->jnt_type[m->body_jntadr[1]] == mjJNT_FREE));
  if (s.follow) {
    mj_fwdPosition(m, s.scratch);  // at qpos0
    const mjtNum* com = s.scratch->subtree_com + 3;
    double radius = 0.1;  // of the root's subtree around its centre of mass
    for (int g = 0; g < m->ngeom; ++g) {
      if (m->body_rootid[m->geom_bodyid[g]] != 1) continue;
      const mjtNum* p = s.scratch->geom_xpos + 3 * g;
      const double r =
          std::sqrt((p[0] - com[0]) * (p[0] - com[0]) + (p[1] - com[1]) * (p[1] - com[1]) +
                    (p[2] - com[2]) * (p[2] - com[2]));
      radius = std::max(radius, r + m->geom_rbound[g]);
    }
    s.camera.lookat[2] = com[2];
    s.camera.distance = 3.5 * radius;
    s.camera.azimuth = 90;
    s.camera.elevation = -15;
  }
}

Renderer::~Renderer() = default;

Frame Renderer::Render() {
  Impl& s = *impl_;
  s.MakeCurrent();
  const mjModel* m = s.env->model();
  const mjData* d = s.env->data();
  // copy the state and recompute poses without touching the env's own mjData
  mjData* x = s.scratch;
  x->time = d->time;
  std::memcpy(x->qpos, d->qpos, sizeof(mjtNum) * m->nq);
  std::memcpy(x->qvel, d->qvel, sizeof(mjtNum) * m->nv);
  std::memcpy(x->act, d->act, sizeof(mjtNum) * m->na);
  std::memcpy(x->mocap_pos, d->mocap_pos, sizeof(mjtNum) * 3 * m->nmocap);
  std::memcpy(x->mocap_quat, d->mocap_quat, sizeof(mjtNum) * 4 * m->nmocap);
  mj_fwdPosition(m, x);
  if (s.follow) {
    s.camera.lookat[0] = x->subtree_com[3 + 0];
    s.camera.lookat[1] = x->subtree_com[3 + 1];
  }

  const mjrRect viewport = {0, 0, s.width, s.height};
  mjv_updateScene(m, x, &s.option, nullptr, &s.camera, mjCAT_ALL, &s.scene);
  mjr_render(viewport, &s.scene, &s.context);
  Frame f;
  f.width = s.width;
  f.height = s.height;
  f.rgb.resize(static_cast<size_t>(s.width) * s.height * 3);
  s.flipped.resize(f.rgb.size());
  mjr_readPixels(s.flipped.data(), nullptr, viewport, &s.context);
  const size_t row = static_cast<size_t>(s.width) * 3;
  for (int y = 0; y < s.height; ++y) {  // OpenGL rows run bottom to top
    std::memcpy(&f.rgb[y * row], &s.flipped[(s.height - 1 - y) * row], row);
  }
  return f;
}

}  // namespace mbrl
