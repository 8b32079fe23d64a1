#pragma once
/// The typed configuration of a training run: the settings every run has, and the chosen agent's
/// own section. An agent's config struct lives in the agent's header; the agent registers it
/// (agents/agent.h, AgentRegistrar), so adding an agent never edits this file.
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "mbrl/config/config.h"
#include "mbrl/core/runtime.h"

namespace mbrl {

using config::AtLeast;
using config::Between;
using config::OneOf;

struct EnvConfig {
  std::string name = "cartpole_swingup";
  std::string xml;    // MJCF path replacing the built-in model ("" = built-in)
  int max_steps = 0;  // episode length override (0 = task default)
  // bool velocity_obs: see EnvOptions (prepend dx/dt for an exact batched reward)
  int action_repeat = 1;  // env steps per agent step
  bool velocity_obs = false;
  template <class V>
  void Visit(V& v) {
    v("name", name);
    v("xml", xml);
    v("max_steps", max_steps, AtLeast(0));
    v("action_repeat", action_repeat, AtLeast(1));
    v("velocity_obs", velocity_obs);
  }
};

struct PhaseThreadsConfig : PhaseThreads {
  template <class V>
  void Visit(V& v) {
    v("torch", torch, Between(1, 256));
    v("blas", blas, Between(0, 256));  // 0 = leave OpenBLAS as is
  }
};

/// Thread pools per phase. Measured on 2 cores (docs/results.md): planning is fastest with the
/// rollout split over torch's threads and 1 OpenBLAS thread; ensemble training with its members
/// split over torch's 2 threads and 1 OpenBLAS thread; actor-critic updates (batch 256, 256 wide)
/// run their critic and actor branches on torch's 2 threads with 1 OpenBLAS thread. The RSSM's
/// world-model step (one autograd graph) is faster on torch 1 / OpenBLAS 2: its configs say so.
struct ThreadsConfig {
  PhaseThreadsConfig plan{{2, 1}}, train{{2, 1}}, update{{2, 1}};
  template <class V>
  void Visit(V& v) {
    v("plan", plan);
    v("train", train);
    v("update", update);
  }
};

/// An agent's config section with its type erased: the config reader and writer visit it.
class AgentSection {
 public:
  virtual ~AgentSection() = default;
  virtual void Visit(config::JsonReader& v) = 0;
  virtual void Visit(config::JsonWriter& v) = 0;
  /// Cross-field checks after parsing; errors name `src` (the config file).
  virtual void Validate(const std::string& src) const = 0;
  virtual std::unique_ptr<AgentSection> Clone() const = 0;
};

template <class C, class = void>
struct HasValidate : std::false_type {};
template <class C>
struct HasValidate<C, std::void_t<decltype(std::declval<const C&>().Validate(""))>>
    : std::true_type {};

/// The section of an agent whose config struct is C (a visitable struct, optionally with
/// `void Validate(const std::string& src) const`).
template <class C>
class TypedSection final : public AgentSection {
 public:
  void Visit(config::JsonReader& v) override { cfg.Visit(v); }
  void Visit(config::JsonWriter& v) override { cfg.Visit(v); }
  void Validate(const std::string& src) const override {
    if constexpr (HasValidate<C>::value) cfg.Validate(src);
  }
  std::unique_ptr<AgentSection> Clone() const override {
    return std::make_unique<TypedSection>(*this);
  }
  C cfg;
};

/// Owns a section; copies clone it (RunConfig stays a value type).
class SectionPtr {
 public:
  SectionPtr() = default;
  explicit SectionPtr(std::unique_ptr<AgentSection> p) : p_(std::move(p)) {}
  SectionPtr(const SectionPtr& o) : p_(o.p_ ? o.p_->Clone() : nullptr) {}
  SectionPtr& operator=(const SectionPtr& o) {
    p_ = o.p_ ? o.p_->Clone() : nullptr;
    return *this;
  }
  SectionPtr(SectionPtr&&) = default;
  SectionPtr& operator=(SectionPtr&&) = default;
  AgentSection* get() const { return p_.get(); }
  AgentSection& operator*() const { return *p_; }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  std::unique_ptr<AgentSection> p_;
};

/// Registered agent names, sorted.
std::vector<std::string> AgentNames();
/// The default section of agent `name`; throws mbrl::Error for an unknown agent.
std::unique_ptr<AgentSection> MakeAgentSection(const std::string& name);

struct RunConfig {
  std::string agent = "random";
  int seed = 0;
  std::string device = "auto";
  ThreadsConfig threads;
  EnvConfig env;
  int64_t total_env_steps = 10000;
  int64_t buffer_capacity = 1000000;
  int eval_every = 0;            // training episodes between evaluations (0 = none)
  int64_t eval_every_steps = 0;  // or env steps between evaluations (0 = none)
  int eval_episodes = 1;
  int final_eval_episodes = 10;  // the final policy's evaluation at the end (0 = none)
  int checkpoint_every = 1;      // training episodes between checkpoints
  std::string runs_dir = "runs";
  bool progress = true;

  /// The chosen agent's config (C is the struct it registered).
  template <class C>
  const C& Section() const {
    const auto* s = dynamic_cast<const TypedSection<C>*>(section_.get());
    MBRL_CHECK(s, "internal: agent '", agent, "' has another config type");
    return s->cfg;
  }
  const AgentSection& section() const { return *section_; }

  template <class V>
  void Visit(V& v) {
    v("agent", agent, OneOf(AgentNames()));
    v("seed", seed, AtLeast(0));
    v("device", device, OneOf({"auto", "cpu", "cuda"}));
    v("threads", threads);
    v("env", env);
    v("total_env_steps", total_env_steps, AtLeast(1));
    v("buffer_capacity", buffer_capacity, AtLeast(1));
    v("eval_every", eval_every, AtLeast(0));
    v("eval_every_steps", eval_every_steps, AtLeast(0));
    v("eval_episodes", eval_episodes, AtLeast(1));
    v("final_eval_episodes", final_eval_episodes, AtLeast(0));
    v("checkpoint_every", checkpoint_every, AtLeast(1));
    v("runs_dir", runs_dir);
    v("progress", progress);
    // only the chosen agent's section is a valid key
    if (!section_ || section_agent_ != agent) {
      section_ = SectionPtr(MakeAgentSection(agent));
      section_agent_ = agent;
    }
    v(section_agent_.c_str(), *section_);
  }

 private:
  SectionPtr section_;
  std::string section_agent_;
};

/// Loads files (layered) + overrides; the task name is checked against the registry and the
/// agent's section validated.
RunConfig LoadRunConfig(const std::vector<std::string>& files,
                        const std::vector<std::string>& overrides, config::Json* resolved);

}  // namespace mbrl
