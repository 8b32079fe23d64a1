#include "agents/trainer.h"

#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>

#include "agents/agent.h"
#include "envs/mujoco_env.h"
#include "envs/render.h"
#include "envs/video.h"
#include "mbrl/core/check.h"
#include "mbrl/core/runtime.h"
#include "mbrl/data/dataset.h"
#include "mbrl/logging/metrics_writer.h"
#include "mbrl/logging/progress.h"

namespace mbrl {
namespace fs = std::filesystem;
namespace {

std::atomic<bool> g_stop{false};
extern "C" void OnSignal(int) { g_stop = true; }

// Fault injection for tests: MBRL_INJECT_NAN_AT_STEP=N makes the training action chosen after N
// env steps NaN (read when Train starts; -1 = off).
int64_t g_inject_nan_at = -1;

// Restores the previous SIGINT/SIGTERM handlers however Train ends.
class SignalScope {
 public:
  SignalScope() : int_(std::signal(SIGINT, OnSignal)), term_(std::signal(SIGTERM, OnSignal)) {}
  ~SignalScope() {
    std::signal(SIGINT, int_);
    std::signal(SIGTERM, term_);
  }
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;

 private:
  void (*int_)(int);
  void (*term_)(int);
};

// seed streams of a run
constexpr uint64_t kTrainEnvStream = 0, kTrainAgentStream = 1ULL << 40, kEvalEnvStream = 2ULL << 40,
                   kEvalAgentStream = 3ULL << 40;

struct EpisodeResult {
  double ret = 0;
  int64_t env_steps = 0;
  Episode data;
  bool interrupted = false;
};

// Plays one episode of at most `budget` env steps. With `buffer`, transitions are stored and the
// agent's per-step hook runs. `on_frame` (if set) runs after the reset and after each agent step.
EpisodeResult RunEpisode(Env& env, Agent& agent, uint64_t env_seed, uint64_t agent_seed, bool eval,
                         int repeat, int64_t budget, ReplayBuffer* buffer, int64_t env_step0,
                         Metrics* metrics, Progress* progress, int64_t episode,
                         const std::function<void()>& on_frame = nullptr) {
  EpisodeResult out;
  std::vector<torch::Tensor> obs{env.Reset(env_seed)}, acts;
  if (on_frame) on_frame();
  std::vector<double> rewards;
  std::vector<uint8_t> terms, truncs;
  agent.BeginEpisode(agent_seed);
  bool done = false;
  // a NaN/Inf from the agent (action, losses, model predictions) is reported with the env step
  const auto at_step = [&](const NonFiniteError& e) {
    return NonFiniteError(detail::Concat(e.what(), " at env step ", env_step0 + out.env_steps, " (",
                                         eval ? "evaluation " : "", "episode ", episode, ")"));
  };
  while (!done) {
    torch::Tensor a;
    try {
      torch::NoGradGuard no_grad;
      a = agent.Act(obs.back(), eval).to(torch::kCPU, torch::kFloat32).reshape({-1});
      if (buffer && env_step0 + out.env_steps == g_inject_nan_at) a.fill_(NAN);
      CheckFinite(a, "action");
    } catch (const NonFiniteError& e) {
      throw at_step(e);
    }
    StepResult r;
    double reward = 0;
    for (int k = 0; k < repeat; ++k) {
      r = env.Step(a);
      reward += r.reward;
      if (!std::isfinite(r.reward) || !torch::isfinite(r.obs).all().item<bool>())
        throw NonFiniteError(
            detail::Concat("the env (", env.spec().name, ") returned a non-finite ",
                           "observation or reward at env step ", env_step0 + out.env_steps + 1));
      ++out.env_steps;
      if (r.terminated || r.truncated) break;
      if (out.env_steps >= budget) break;
    }
    const bool cut = !r.terminated && out.env_steps >= budget;
    r.truncated = r.truncated || cut;
    obs.push_back(r.obs);
    acts.push_back(a);
    rewards.push_back(reward);
    terms.push_back(r.terminated);
    truncs.push_back(r.truncated);
    out.ret += reward;
    done = r.terminated || r.truncated;
    if (on_frame) on_frame();
    if (buffer) {
      buffer->Add(obs[obs.size() - 2], a, static_cast<float>(reward), r.obs, r.terminated,
                  r.truncated);
      try {
        agent.AfterStep(*buffer, env_step0 + out.env_steps, metrics);
      } catch (const NonFiniteError& e) {
        throw at_step(e);
      }
    }
    if (progress) progress->Step(env_step0 + out.env_steps, episode, out.ret);
    if (g_stop) {
      out.interrupted = true;
      return out;
    }
  }
  const int64_t t = static_cast<int64_t>(acts.size());
  out.data.observations = torch::stack(obs);
  out.data.actions = torch::stack(acts);
  out.data.rewards = torch::tensor(rewards, torch::kFloat64);
  out.data.terminations =
      torch::tensor(std::vector<int64_t>(terms.begin(), terms.end())).to(torch::kBool);
  out.data.truncations =
      torch::tensor(std::vector<int64_t>(truncs.begin(), truncs.end())).to(torch::kBool);
  out.data.seed = env_seed;
  MBRL_CHECK(out.data.rewards.size(0) == t, "internal: episode length mismatch");
  return out;
}

std::string NewRunDir(const RunConfig& cfg) {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", std::localtime(&now));
  const std::string base = cfg.runs_dir + "/" + stamp + "_" + cfg.agent + "_" + cfg.env.name +
                           "_s" + std::to_string(cfg.seed);
  std::string dir = base;
  for (int i = 1; fs::exists(dir); ++i) dir = base + "-" + std::to_string(i);
  fs::create_directories(dir + "/checkpoints");
  return dir;
}

std::unique_ptr<Env> MakeRunEnv(const RunConfig& cfg) {
  return MakeEnv(cfg.env.name, {cfg.env.xml, cfg.env.max_steps, cfg.env.velocity_obs});
}

void SaveCheckpoint(const std::string& dir, const Agent& agent, int64_t env_step, int64_t episode,
                    double wall_time, const std::string& config_text) {
  torch::serialize::OutputArchive ar;
  ar.write("env_step", torch::tensor(env_step));
  ar.write("episode", torch::tensor(episode));
  ar.write("wall_time", torch::tensor(wall_time, torch::kFloat64));
  ar.write("config", c10::IValue(config_text));
  torch::serialize::OutputArchive agent_ar;
  agent.Save(agent_ar);
  ar.write("agent", agent_ar);
  const std::string path = dir + "/checkpoints/latest.pt", tmp = path + ".tmp";
  ar.save_to(tmp);
  fs::rename(tmp, path);  // atomic on POSIX
}

struct CheckpointState {
  int64_t env_step = 0, episode = 0;
  double wall_time = 0;
};

// loads latest.pt into agent; returns false when the run has none yet
bool LoadCheckpoint(const std::string& dir, Agent& agent, CheckpointState* st) {
  const std::string path = dir + "/checkpoints/latest.pt";
  if (!fs::exists(path)) return false;
  torch::serialize::InputArchive ar;
  try {
    ar.load_from(path);
  } catch (const c10::Error& e) {
    throw Error(path + ": unreadable checkpoint (truncated or corrupt)");
  }
  st->env_step = ReadTensor(ar, "env_step").item<int64_t>();
  st->episode = ReadTensor(ar, "episode").item<int64_t>();
  st->wall_time = ReadTensor(ar, "wall_time").item<double>();
  torch::serialize::InputArchive agent_ar;
  ar.read("agent", agent_ar);
  agent.Load(agent_ar);
  return true;
}

}  // namespace

bool Interrupted() { return g_stop; }

std::string Train(const RunConfig& cfg, const config::Json& resolved,
                  const std::string& resume_dir) {
  const torch::Device device = ResolveDevice(cfg.device);
  SetThreads(cfg.threads.train.torch, cfg.threads.train.blas);
  TuneAllocator();
  torch::manual_seed(DeriveSeed(cfg.seed, 7));
  auto env = MakeRunEnv(cfg);
  const EnvSpec& spec = env->spec();

  std::string dir = resume_dir;
  if (dir.empty()) {
    dir = NewRunDir(cfg);
  } else {
    MBRL_CHECK(fs::exists(dir + "/config.json"), dir, ": not a run directory (no config.json)");
  }
  const std::string config_text = resolved.dump(2) + "\n";
  WriteFileAtomic(dir + "/config.json", config_text);
  fs::create_directories(dir + "/checkpoints");

  auto agent = MakeAgent(cfg, *env, device);
  ReplayBuffer buffer(std::min(cfg.buffer_capacity, cfg.total_env_steps), spec.obs_dim,
                      spec.act_dim, device);
  Dataset dataset(dir + "/dataset",
                  {spec.name, spec.obs_dim, spec.act_dim, spec.act_low, spec.act_high});

  // resume: the dataset is the record of what happened; metrics and checkpoint follow it
  int64_t episode = dataset.episodes();
  int64_t env_step = 0;
  CheckpointState ck;
  if (!resume_dir.empty()) {
    Dataset::LoadInto(dataset.dir(), &buffer);
    LoadCheckpoint(dir, *agent, &ck);
    // env steps include action repeats; the dataset holds agent steps
    env_step = dataset.steps() * cfg.env.action_repeat;
  }

  std::vector<std::string> columns = {"env_step",  "episode",     "return",     "length",
                                      "wall_time", "steps_per_s", "eval_return"};
  for (const auto& k : agent->MetricNames()) columns.push_back(k);
  MetricsWriter metrics(dir, columns, resume_dir.empty() ? -1 : episode);
  // rows lost between a dataset append and the metrics write are rebuilt from the dataset
  if (metrics.rows() < episode) {
    const DatasetInfo info = Dataset::ReadInfo(dataset.dir());
    int64_t steps = 0;
    for (int64_t i = 0; i < metrics.rows(); ++i)
      steps += Dataset::ReadEpisode(dataset.dir(), info, i).steps();
    for (int64_t i = metrics.rows(); i < episode; ++i) {
      const Episode ep = Dataset::ReadEpisode(dataset.dir(), info, i);
      steps += ep.steps();
      Metrics row;
      row.Set("env_step", static_cast<double>(steps * cfg.env.action_repeat));
      row.Set("episode", static_cast<double>(i + 1));
      row.Set("return", ep.rewards.sum().item<double>());
      row.Set("length", static_cast<double>(ep.steps()));
      metrics.Write(row);
    }
  }

  g_stop = false;
  SignalScope signals;
  const char* inject = std::getenv("MBRL_INJECT_NAN_AT_STEP");
  g_inject_nan_at = inject ? std::atoll(inject) : -1;
  int64_t checkpoint_episode = ck.episode;
  Progress progress(cfg.total_env_steps, env_step, cfg.progress);
  const auto t0 = std::chrono::steady_clock::now();
  const auto wall = [&] {
    return ck.wall_time +
           std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  // NaN/Inf: every completed episode is in the dataset and its metrics row written (or rebuilt from
  // the dataset on resume); the poisoned agent is never checkpointed
  const auto stop = [&](const NonFiniteError& e) {
    return Error(detail::Concat(
        e.what(), "; run stopped: ", dataset.episodes(), " episodes in the dataset, ",
        checkpoint_episode > 0 ? "checkpoint of episode " + std::to_string(checkpoint_episode)
                               : std::string("no checkpoint yet"),
        "; run dir ", dir));
  };
  try {
    while (env_step < cfg.total_env_steps && !g_stop) {
      Metrics row;
      const auto ep_t0 = std::chrono::steady_clock::now();
      EpisodeResult ep = RunEpisode(*env, *agent, DeriveSeed(cfg.seed, kTrainEnvStream + episode),
                                    DeriveSeed(cfg.seed, kTrainAgentStream + episode), false,
                                    cfg.env.action_repeat, cfg.total_env_steps - env_step, &buffer,
                                    env_step, &row, &progress, episode + 1);
      if (ep.interrupted) break;  // the partial episode is dropped; the last checkpoint stands
      env_step += ep.env_steps;
      dataset.Append(ep.data);
      ++episode;
      try {
        agent->AfterEpisode(buffer, env_step, &row);
      } catch (const NonFiniteError& e) {
        throw NonFiniteError(
            detail::Concat(e.what(), " at env step ", env_step, " (end of episode ", episode, ")"));
      }
      const double ep_s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - ep_t0).count();
      row.Set("env_step", static_cast<double>(env_step));
      row.Set("episode", static_cast<double>(episode));
      row.Set("return", ep.ret);
      row.Set("length", static_cast<double>(ep.data.steps()));
      row.Set("steps_per_s", ep_s > 0 ? ep.env_steps / ep_s : 0.0);
      std::string extra;
      if (cfg.eval_every > 0 && episode % cfg.eval_every == 0) {
        double sum = 0;
        for (int i = 0; i < cfg.eval_episodes; ++i) {
          const uint64_t k = static_cast<uint64_t>(episode) * 1000 + i;
          sum += RunEpisode(*env, *agent, DeriveSeed(cfg.seed, kEvalEnvStream + k),
                            DeriveSeed(cfg.seed, kEvalAgentStream + k), true, cfg.env.action_repeat,
                            INT64_MAX, nullptr, env_step, nullptr, nullptr, episode)
                     .ret;
        }
        row.Set("eval_return", sum / cfg.eval_episodes);
        extra = "  eval " + std::to_string(sum / cfg.eval_episodes);
      }
      row.Set("wall_time", wall());
      metrics.Write(row);
      progress.Episode(env_step, episode, ep.ret, extra);
      if (episode % cfg.checkpoint_every == 0 || env_step >= cfg.total_env_steps) {
        SaveCheckpoint(dir, *agent, env_step, episode, wall(), config_text);
        checkpoint_episode = episode;
      }
    }
  } catch (const NonFiniteError& e) {
    throw stop(e);
  }
  return dir;
}

std::unique_ptr<Agent> LoadRunAgent(const std::string& run_dir, RunConfig* cfg,
                                    std::unique_ptr<Env>* env) {
  const std::string cfg_path = run_dir + "/config.json";
  MBRL_CHECK(fs::exists(cfg_path), run_dir, ": not a run directory (no config.json)");
  *cfg = LoadRunConfig({cfg_path}, {}, nullptr);
  SetThreads(cfg->threads.train.torch, cfg->threads.train.blas);
  *env = MakeRunEnv(*cfg);
  auto agent = MakeAgent(*cfg, **env, ResolveDevice(cfg->device));
  CheckpointState ck;
  MBRL_CHECK(LoadCheckpoint(run_dir, *agent, &ck), run_dir,
             ": no checkpoint yet (checkpoints/latest.pt); the run has not finished an episode");
  return agent;
}

std::vector<double> Evaluate(const std::string& run_dir, int episodes, const VideoOptions& video) {
  MBRL_CHECK(episodes >= 1, "--episodes must be >= 1, got ", episodes);
  RunConfig cfg;
  std::unique_ptr<Env> env;
  auto agent = LoadRunAgent(run_dir, &cfg, &env);
  // with a video: one frame per agent step, all episodes in one file
  std::unique_ptr<Renderer> renderer;
  std::unique_ptr<VideoWriter> writer;
  std::function<void()> on_frame;
  if (!video.path.empty()) {
    const auto* mujoco_env = dynamic_cast<const MujocoEnv*>(env.get());
    MBRL_CHECK(mujoco_env, cfg.env.name, ": task cannot be rendered");
    const double fps = 1.0 / (env->spec().dt * cfg.env.action_repeat);
    renderer = std::make_unique<Renderer>(*mujoco_env, video.width, video.height);
    writer = VideoWriter::Open(video.path, video.width, video.height, fps);
    on_frame = [&] { writer->Add(renderer->Render()); };
  }
  std::vector<double> returns;
  for (int i = 0; i < episodes; ++i) {
    const uint64_t k = (1ULL << 39) + i;  // apart from the training-time evaluation seeds
    returns.push_back(RunEpisode(*env, *agent, DeriveSeed(cfg.seed, kEvalEnvStream + k),
                                 DeriveSeed(cfg.seed, kEvalAgentStream + k), true,
                                 cfg.env.action_repeat, INT64_MAX, nullptr, 0, nullptr, nullptr,
                                 i + 1, on_frame)
                          .ret);
  }
  if (writer) writer->Close();
  return returns;
}

}  // namespace mbrl
