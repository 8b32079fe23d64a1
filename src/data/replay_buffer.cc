#include "mbrl/data/replay_buffer.h"

#include <torch/torch.h>

#include <cstring>

#include "mbrl/core/check.h"

namespace mbrl {

ReplayBuffer::ReplayBuffer(int64_t capacity, int obs_dim, int act_dim, torch::Device device)
    : capacity_(capacity), obs_dim_(obs_dim), act_dim_(act_dim), device_(device) {
  MBRL_CHECK(capacity > 0, "replay buffer capacity must be > 0, got ", capacity);
  MBRL_CHECK(obs_dim > 0 && act_dim > 0, "replay buffer dims must be > 0, got obs ", obs_dim,
             " act ", act_dim);
  const auto f = torch::TensorOptions().dtype(torch::kFloat32);
  obs_ = torch::zeros({capacity, obs_dim}, f);
  next_obs_ = torch::zeros({capacity, obs_dim}, f);
  act_ = torch::zeros({capacity, act_dim}, f);
  reward_ = torch::zeros({capacity}, f);
  terminated_ = torch::zeros({capacity}, f);
  first_ = torch::zeros({capacity}, f);
  episode_ = torch::full({capacity}, -1, torch::kInt64);
}

void ReplayBuffer::Add(const torch::Tensor& obs, const torch::Tensor& act, float reward,
                       const torch::Tensor& next_obs, bool terminated, bool truncated) {
  MBRL_CHECK(obs.numel() == obs_dim_ && next_obs.numel() == obs_dim_ && act.numel() == act_dim_,
             "replay buffer: transition dims obs ", obs.numel(), " act ", act.numel(),
             " do not match buffer obs ", obs_dim_, " act ", act_dim_);
  const int64_t i = head_;
  auto copy = [i](torch::Tensor& dst, const torch::Tensor& src, int n) {
    auto s = src.to(torch::kCPU, torch::kFloat32).contiguous();
    std::memcpy(dst.data_ptr<float>() + i * n, s.data_ptr<float>(), sizeof(float) * n);
  };
  copy(obs_, obs, obs_dim_);
  copy(next_obs_, next_obs, obs_dim_);
  copy(act_, act, act_dim_);
  reward_.data_ptr<float>()[i] = reward;
  terminated_.data_ptr<float>()[i] = terminated ? 1.f : 0.f;
  first_.data_ptr<float>()[i] = episode_open_ ? 0.f : 1.f;
  episode_.data_ptr<int64_t>()[i] = episode_id_;
  episode_open_ = !(terminated || truncated);
  if (!episode_open_) ++episode_id_;
  head_ = (head_ + 1) % capacity_;
  size_ = std::min(size_ + 1, capacity_);
}

void ReplayBuffer::AddBatch(const Batch& b) {
  const int64_t n = b.obs.size(0);
  MBRL_CHECK(b.obs.dim() == 2 && b.obs.size(1) == obs_dim_ && b.act.size(1) == act_dim_ &&
                 b.next_obs.sizes() == b.obs.sizes() && b.act.size(0) == n &&
                 b.reward.size(0) == n && b.terminated.size(0) == n,
             "replay buffer: batch dims obs ", b.obs.sizes(), " act ", b.act.sizes(),
             " do not match buffer obs ", obs_dim_, " act ", act_dim_);
  MBRL_CHECK(!episode_open_, "replay buffer: AddBatch inside an open episode");
  const int64_t skip = std::max<int64_t>(0, n - capacity_);  // only the newest rows fit
  for (int64_t off = skip; off < n;) {
    const int64_t k = std::min(n - off, capacity_ - head_);
    const auto put = [&](torch::Tensor& dst, const torch::Tensor& src) {
      dst.narrow(0, head_, k).copy_(src.narrow(0, off, k));
    };
    put(obs_, b.obs);
    put(act_, b.act);
    put(next_obs_, b.next_obs);
    put(reward_, b.reward);
    put(terminated_, b.terminated);
    first_.narrow(0, head_, k).fill_(1);  // every row is its own one-step episode
    episode_.narrow(0, head_, k).copy_(torch::arange(episode_id_, episode_id_ + k, torch::kInt64));
    episode_id_ += k;
    head_ = (head_ + k) % capacity_;
    size_ = std::min(size_ + k, capacity_);
    off += k;
  }
}

void ReplayBuffer::AddEpisode(const torch::Tensor& obs, const torch::Tensor& act,
                              const torch::Tensor& reward, const torch::Tensor& terminated,
                              const torch::Tensor& truncated) {
  const int64_t t = act.size(0);
  MBRL_CHECK(obs.size(0) == t + 1 && reward.size(0) == t && terminated.size(0) == t &&
                 truncated.size(0) == t,
             "replay buffer: episode arrays disagree in length (obs ", obs.size(0), ", actions ", t,
             ")");
  auto r = reward.to(torch::kCPU, torch::kFloat32).contiguous();
  auto term = terminated.to(torch::kCPU, torch::kBool).contiguous();
  auto trunc = truncated.to(torch::kCPU, torch::kBool).contiguous();
  const float* rp = r.data_ptr<float>();
  const bool *tp = term.data_ptr<bool>(), *up = trunc.data_ptr<bool>();
  for (int64_t k = 0; k < t; ++k) {
    Add(obs[k], act[k], rp[k], obs[k + 1], tp[k], up[k] || k == t - 1);
  }
}

torch::Tensor ReplayBuffer::Physical(const torch::Tensor& logical) const {
  return size_ < capacity_ ? logical : (logical + head_).remainder(capacity_);  // head_: oldest
}

Batch ReplayBuffer::Gather(const torch::Tensor& idx) const {
  Batch b;
  b.obs = obs_.index_select(0, idx).to(device_);
  b.act = act_.index_select(0, idx).to(device_);
  b.reward = reward_.index_select(0, idx).to(device_);
  b.next_obs = next_obs_.index_select(0, idx).to(device_);
  b.terminated = terminated_.index_select(0, idx).to(device_);
  return b;
}

Batch ReplayBuffer::Sample(int64_t batch, torch::Generator& gen, int64_t recent) const {
  MBRL_CHECK(size_ > 0, "replay buffer: cannot sample from an empty buffer");
  const int64_t n = recent > 0 ? std::min(recent, size_) : size_;
  auto rows = torch::randint(n, {batch}, gen, torch::kInt64);
  return Gather(n == size_ ? rows : Physical(rows + (size_ - n)));  // all rows: order is moot
}

Batch ReplayBuffer::All() const { return Gather(Physical(torch::arange(size_, torch::kInt64))); }

Batch ReplayBuffer::Recent(int64_t n) const {
  MBRL_CHECK(n >= 0 && n <= size_, "replay buffer: ", n, " recent transitions asked of ", size_);
  return Gather(Physical(torch::arange(size_ - n, size_, torch::kInt64)));
}

SequenceBatch ReplayBuffer::SampleSequences(int64_t batch, int64_t length,
                                            torch::Generator& gen) const {
  MBRL_CHECK(length >= 1, "sequence length must be >= 1, got ", length);
  MBRL_CHECK(size_ > 0, "replay buffer: cannot sample sequences from an empty buffer");
  // Starts are uniform over the valid ones: a window of `length` steps inside one episode, or the
  // first step of an episode with fewer steps (padded past its end, mask 0). Episode ids increase
  // in insertion order, so equal ids at both ends mean one episode. Rejection sampling costs
  // O(B); a full scan is the fallback.
  const auto valid = [&](const torch::Tensor& start) {  // logical starts -> bool
    auto first = Physical(start), end = start + length - 1;
    auto last = Physical(end.clamp_max(size_ - 1));
    auto inside =
        end.lt(size_) & episode_.index_select(0, first).eq(episode_.index_select(0, last));
    return inside | first_.index_select(0, first).gt(0);
  };
  std::vector<torch::Tensor> found;
  int64_t have = 0;
  for (int round = 0; round < 8 && have < batch; ++round) {
    auto cand = torch::randint(size_, {2 * batch}, gen, torch::kInt64);
    found.push_back(cand.masked_select(valid(cand)));
    have += found.back().numel();
  }
  torch::Tensor start;  // [B] logical
  if (have >= batch) {
    start = torch::cat(found).slice(0, 0, batch);
  } else {
    auto all = torch::arange(size_, torch::kInt64);
    auto starts = all.masked_select(valid(all));
    MBRL_CHECK(starts.numel() > 0, "replay buffer: no episode start stored and no episode has ",
               length, " steps; shorten the sequence length");
    start = starts.index_select(0, torch::randint(starts.numel(), {batch}, gen, torch::kInt64));
  }
  // steps past the episode's end (or the stored data) repeat its last step and are masked out
  auto pos = start.unsqueeze(1) + torch::arange(length, torch::kInt64);  // [B,T]
  auto mask = pos.lt(size_) & episode_.index_select(0, Physical(pos.clamp_max(size_ - 1)).view(-1))
                                  .view({batch, length})
                                  .eq(episode_.index_select(0, Physical(start)).unsqueeze(1));
  auto real = mask.sum(1, true);  // >= 1: the start itself
  auto flat = Physical(torch::min(pos, start.unsqueeze(1) + real - 1)).reshape({-1});
  auto b = Gather(flat);
  SequenceBatch s;
  s.obs = b.obs.view({batch, length, obs_dim_});
  s.act = b.act.view({batch, length, act_dim_});
  s.reward = b.reward.view({batch, length});
  s.next_obs = b.next_obs.view({batch, length, obs_dim_});
  s.terminated = b.terminated.view({batch, length});
  s.first = first_.index_select(0, flat).view({batch, length}).to(device_);
  s.mask = mask.to(torch::kFloat32).to(device_);
  return s;
}

}  // namespace mbrl
