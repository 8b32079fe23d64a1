#include "agents/trainer.h"

#include <torch/torch.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>

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

std::string Stamp() {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", std::localtime(&now));
  return stamp;
}

std::string NewRunDir(const RunConfig& cfg) {
  const std::string base = cfg.runs_dir + "/" + Stamp() + "_" + cfg.agent + "_" + cfg.env.name +
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

std::string CheckpointPath(const std::string& dir) { return dir + "/checkpoints/latest.pt"; }

// Reads latest.pt; into `agent` too unless null. Returns false when the run has none yet.
bool LoadCheckpoint(const std::string& dir, Agent* agent, CheckpointState* st) {
  const std::string path = CheckpointPath(dir);
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
  if (!agent) return true;
  torch::serialize::InputArchive agent_ar;
  ar.read("agent", agent_ar);
  agent->Load(agent_ar);
  return true;
}

// The dataset id a run writes: mbrl/<task>/<run dir name>-v0 (Minari's grammar: no dots).
std::string DatasetId(const std::string& task, const std::string& run_dir) {
  std::string name = fs::path(run_dir).filename().string();
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  return "mbrl/" + task + "/" + name + "-v0";
}

DatasetInfo RunDatasetInfo(const RunConfig& cfg, const Env& env, const std::string& dir) {
  const EnvSpec& spec = env.spec();
  DatasetInfo info{spec.name, spec.obs_dim, spec.act_dim, spec.act_low, spec.act_high};
  info.dataset_id = DatasetId(spec.name, dir);
  info.algorithm = cfg.agent;
  // the Gymnasium twin, when the run's task is exactly it (recover_environment)
  const TaskTwin twin = FindTaskTwin(spec.name);
  if (!twin.gymnasium_id.empty() && cfg.env.xml.empty() && !cfg.env.velocity_obs &&
      cfg.env.action_repeat == 1)
    info.env_spec = GymnasiumSpecJson(twin, spec.max_steps);
  return info;
}

constexpr const char* kFromCheckpointHint =
    "; nothing was changed (to continue from the checkpoint alone: mbrl train --resume <run> "
    "--from-checkpoint)";

// Rows in metrics.jsonl (0 when absent).
int64_t MetricRows(const std::string& dir) {
  std::ifstream in(dir + "/metrics.jsonl");
  int64_t n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

// A resume must find the dataset, the checkpoint and the metrics in agreement; anything else is
// an error that changes nothing. Returns the checkpoint state (zero when there is none yet).
CheckpointState CheckResume(const std::string& dir, int repeat) {
  CheckpointState ck;
  const bool has_ck = LoadCheckpoint(dir, nullptr, &ck);
  const int64_t rows = MetricRows(dir);
  const std::string data_dir = dir + "/dataset";
  if (!Dataset::Exists(data_dir)) {
    MBRL_CHECK(!has_ck && rows == 0, Dataset::MainFile(data_dir, ""), ": missing, but the run has ",
               has_ck ? "a checkpoint at episode " + std::to_string(ck.episode) : std::string(),
               has_ck && rows ? " and " : "", rows ? std::to_string(rows) + " metric rows" : "",
               kFromCheckpointHint);
    return ck;
  }
  int64_t episodes = 0, steps = 0;
  DatasetInfo info;
  try {
    info = Dataset::ReadInfo(data_dir, &episodes, &steps);
  } catch (const Error& e) {
    throw Error(e.what() + std::string(kFromCheckpointHint));
  }
  const std::string file = Dataset::MainFile(data_dir, info.dataset_id);
  episodes += info.first_episode;
  steps += info.first_step;
  MBRL_CHECK(episodes >= ck.episode, file, ": holds ", episodes,
             " episodes but the checkpoint is at episode ", ck.episode, " (truncated?)",
             kFromCheckpointHint);
  MBRL_CHECK(episodes > ck.episode || steps * repeat == ck.env_step, file, ": holds ",
             steps * repeat, " env steps but the checkpoint of the same episode is at ",
             ck.env_step, " (not this run's checkpoint?)", kFromCheckpointHint);
  MBRL_CHECK(rows <= episodes, dir, "/metrics.jsonl: ", rows, " rows but the dataset holds only ",
             episodes, " episodes", kFromCheckpointHint);
  return ck;
}

// --from-checkpoint: sets the unusable dataset and the metric rows after the checkpoint aside
// (renamed, never deleted).
void SetAsideForCheckpoint(const std::string& dir, const CheckpointState& ck) {
  const std::string suffix = ".unused-" + Stamp();
  if (fs::exists(dir + "/dataset")) fs::rename(dir + "/dataset", dir + "/dataset" + suffix);
  for (const char* f : {"/metrics.csv", "/metrics.jsonl"})
    if (fs::exists(dir + f)) fs::copy_file(dir + f, dir + f + suffix);
  std::cerr << "mbrl: continuing " << dir << " from its checkpoint (episode " << ck.episode
            << ", env step " << ck.env_step << "); the old dataset and metrics are kept as *"
            << suffix << "\n";
}

// Episodes between a dropped metrics row and the dataset: rebuilt from the dataset.
void RebuildMetricRows(const Dataset& dataset, int repeat, MetricsWriter* metrics) {
  const int64_t first = dataset.first_episode();
  if (metrics->rows() >= first + dataset.episodes()) return;
  const DatasetInfo info = Dataset::ReadInfo(dataset.dir());
  int64_t steps = dataset.first_step();
  for (int64_t i = 0; i < dataset.episodes(); ++i) {
    const Episode ep = Dataset::ReadEpisode(dataset.dir(), info, i);
    steps += ep.steps();
    if (first + i < metrics->rows()) continue;
    Metrics row;
    row.Set("env_step", static_cast<double>(steps * repeat));
    row.Set("episode", static_cast<double>(first + i + 1));
    row.Set("return", ep.rewards.sum().item<double>());
    row.Set("length", static_cast<double>(ep.steps()));
    metrics->Write(row);
  }
}

// Mean return of `episodes` deterministic episodes with the evaluation seeds of `mbrl eval`.
std::vector<double> EvalEpisodes(Env& env, Agent& agent, const RunConfig& cfg, int episodes,
                                 uint64_t first, const std::function<void()>& on_frame = nullptr) {
  std::vector<double> returns;
  for (int i = 0; i < episodes && !g_stop; ++i) {
    const uint64_t k = first + i;
    const EpisodeResult r =
        RunEpisode(env, agent, DeriveSeed(cfg.seed, kEvalEnvStream + k),
                   DeriveSeed(cfg.seed, kEvalAgentStream + k), true, cfg.env.action_repeat,
                   INT64_MAX, nullptr, 0, nullptr, nullptr, i + 1, on_frame);
    if (!r.interrupted) returns.push_back(r.ret);
  }
  return returns;
}

constexpr uint64_t kFinalEvalSeeds = 1ULL << 39;  // mbrl eval plays the same episodes

double Mean(const std::vector<double>& x) {
  double m = 0;
  for (double v : x) m += v / x.size();
  return m;
}

// The final evaluation: the latest checkpoint's policy (what a resume or `mbrl eval` sees) over
// cfg.final_eval_episodes episodes, into final_eval.json and TensorBoard. A second SIGINT/SIGTERM
// skips it.
void FinalEvaluation(const std::string& dir, const RunConfig& cfg, const std::string& reason,
                     MetricsWriter* metrics) {
  if (cfg.final_eval_episodes == 0) return;
  auto env = MakeRunEnv(cfg);
  auto agent = MakeAgent(cfg, *env, ResolveDevice(cfg.device));
  CheckpointState ck;
  if (!LoadCheckpoint(dir, agent.get(), &ck)) return;  // stopped before the first episode
  const std::string path = dir + "/final_eval.json";
  if (fs::exists(path)) {  // a resumed run that had already ended: nothing new to evaluate
    const auto j = config::ParseJson(ReadFile(path), path);
    if (j.value("env_step", int64_t(-1)) == ck.env_step && j.value("reason", "") == "end" &&
        j.value("episodes", 0) == cfg.final_eval_episodes)
      return;
  }
  g_stop = false;
  std::cerr << "final evaluation: " << cfg.final_eval_episodes << " episodes at env step "
            << ck.env_step << "\n";
  const auto returns = EvalEpisodes(*env, *agent, cfg, cfg.final_eval_episodes, kFinalEvalSeeds);
  if (g_stop) {
    std::cerr << "final evaluation skipped (stopped)\n";
    return;
  }
  const nlohmann::json j = {{"env_step", ck.env_step},    {"episode", ck.episode},
                            {"episodes", returns.size()}, {"returns", returns},
                            {"mean", Mean(returns)},      {"reason", reason}};
  WriteFileAtomic(path, j.dump(2) + "\n");
  metrics->Event({{"final_eval_return", Mean(returns)}}, ck.env_step);
  std::cerr << "final evaluation at env step " << ck.env_step << ": mean return " << Mean(returns)
            << " (" << path << ")\n";
}

// Evaluation after a training episode: every eval_every episodes or when the episode crossed a
// multiple of eval_every_steps.
bool EvalDue(const RunConfig& cfg, int64_t episode, int64_t step_before, int64_t step_after) {
  if (cfg.eval_every > 0 && episode % cfg.eval_every == 0) return true;
  return cfg.eval_every_steps > 0 &&
         step_after / cfg.eval_every_steps > step_before / cfg.eval_every_steps;
}

}  // namespace

bool Interrupted() { return g_stop; }

std::string Train(const RunConfig& cfg, const config::Json& resolved, const std::string& resume_dir,
                  const TrainOptions& options) {
  const torch::Device device = ResolveDevice(cfg.device);
  SetThreads(cfg.threads.train.torch, cfg.threads.train.blas);
  TuneAllocator();
  torch::manual_seed(DeriveSeed(cfg.seed, 7));
  auto env = MakeRunEnv(cfg);
  const EnvSpec& spec = env->spec();
  const int repeat = cfg.env.action_repeat;

  std::string dir = resume_dir;
  CheckpointState ck;
  if (dir.empty()) {
    dir = NewRunDir(cfg);
  } else {
    MBRL_CHECK(fs::exists(dir + "/config.json"), dir, ": not a run directory (no config.json)");
    if (options.from_checkpoint) {
      MBRL_CHECK(LoadCheckpoint(dir, nullptr, &ck), CheckpointPath(dir),
                 ": missing; --from-checkpoint needs a checkpoint");
      SetAsideForCheckpoint(dir, ck);
    } else {
      ck = CheckResume(dir, repeat);
    }
  }
  const std::string config_text = resolved.dump(2) + "\n";
  WriteFileAtomic(dir + "/config.json", config_text);
  fs::create_directories(dir + "/checkpoints");

  auto agent = MakeAgent(cfg, *env, device);
  ReplayBuffer buffer(std::min(cfg.buffer_capacity, cfg.total_env_steps), spec.obs_dim,
                      spec.act_dim, device);
  DatasetInfo info = RunDatasetInfo(cfg, *env, dir);
  if (options.from_checkpoint) {
    info.first_episode = ck.episode;
    info.first_step = ck.env_step / repeat;
  }
  Dataset dataset(dir + "/dataset", info);

  // resume: the dataset is the record of what happened; metrics and checkpoint follow it
  int64_t episode = dataset.first_episode() + dataset.episodes();
  int64_t env_step = (dataset.first_step() + dataset.steps()) * repeat;
  if (!resume_dir.empty()) {
    Dataset::LoadInto(dataset.dir(), &buffer);
    LoadCheckpoint(dir, agent.get(), &ck);
  }

  std::vector<std::string> columns = {"env_step",  "episode",     "return",     "length",
                                      "wall_time", "steps_per_s", "eval_return"};
  for (const auto& k : agent->MetricNames()) columns.push_back(k);
  MetricsWriter metrics(dir, columns, resume_dir.empty() ? -1 : episode);
  RebuildMetricRows(dataset, repeat, &metrics);
  if (options.on_start) options.on_start(dir);

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
                                    repeat, cfg.total_env_steps - env_step, &buffer, env_step, &row,
                                    &progress, episode + 1);
      if (ep.interrupted) break;  // the partial episode is dropped; the last checkpoint stands
      const int64_t step_before = env_step;
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
      if (EvalDue(cfg, episode, step_before, env_step)) {
        const auto returns = EvalEpisodes(*env, *agent, cfg, cfg.eval_episodes,
                                          static_cast<uint64_t>(episode) * 1000);
        if (static_cast<int>(returns.size()) == cfg.eval_episodes) {  // not cut by a signal
          row.Set("eval_return", Mean(returns));
          extra = "  eval " + std::to_string(Mean(returns));
        }
      }
      row.Set("wall_time", wall());
      metrics.Write(row);
      progress.Episode(env_step, episode, ep.ret, extra);
      if (episode % cfg.checkpoint_every == 0 || env_step >= cfg.total_env_steps || g_stop) {
        SaveCheckpoint(dir, *agent, env_step, episode, wall(), config_text);
        checkpoint_episode = episode;
      }
    }
  } catch (const NonFiniteError& e) {
    throw stop(e);
  }
  const bool interrupted = g_stop;
  FinalEvaluation(dir, cfg, interrupted ? "interrupted" : "end", &metrics);
  g_stop = interrupted;
  return dir;
}

std::unique_ptr<Agent> LoadRunAgent(const std::string& run_dir, RunConfig* cfg,
                                    std::unique_ptr<Env>* env,
                                    const std::vector<std::string>& overrides) {
  const std::string cfg_path = run_dir + "/config.json";
  MBRL_CHECK(fs::exists(cfg_path), run_dir, ": not a run directory (no config.json)");
  *cfg = LoadRunConfig({cfg_path}, overrides, nullptr);
  SetThreads(cfg->threads.train.torch, cfg->threads.train.blas);
  *env = MakeRunEnv(*cfg);
  auto agent = MakeAgent(*cfg, **env, ResolveDevice(cfg->device));
  CheckpointState ck;
  MBRL_CHECK(LoadCheckpoint(run_dir, agent.get(), &ck), run_dir,
             ": no checkpoint yet (checkpoints/latest.pt); the run has not finished an episode");
  return agent;
}

std::vector<double> Evaluate(const std::string& run_dir, int episodes, const VideoOptions& video,
                             const std::vector<std::string>& overrides) {
  MBRL_CHECK(episodes >= 1, "--episodes must be >= 1, got ", episodes);
  RunConfig cfg;
  std::unique_ptr<Env> env;
  auto agent = LoadRunAgent(run_dir, &cfg, &env, overrides);
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
  const auto returns = EvalEpisodes(*env, *agent, cfg, episodes, kFinalEvalSeeds, on_frame);
  if (writer) writer->Close();
  return returns;
}

}  // namespace mbrl
