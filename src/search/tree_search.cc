#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "mbrl/core/check.h"
#include "mbrl/search/search.h"

namespace mbrl {

torch::Tensor SampledPrior(const torch::Tensor& logp_pi, const torch::Tensor& logp_beta) {
  return torch::softmax(logp_pi - logp_beta, -1);
}

// An edge is a sampled action of a node; its child is created when the edge is first expanded.
struct TreeSearch::Edge {
  int child = -1;
  double prior = 0, reward = 0;
  bool done = false, pending = false;
  int visits = 0, virtual_visits = 0;
  double return_sum = 0;  // sum of r + discount * G over backups
};

struct TreeSearch::Node {
  int first_edge = 0, num_edges = 0;  // no edges: terminal
  int visits = 0, virtual_visits = 0;
  double value = 0;  // the evaluator's estimate
};

struct TreeSearch::Tree {
  std::vector<Node> nodes;
  std::vector<Edge> edges;
  torch::Tensor states;   // [capacity,S] row i: node i
  torch::Tensor actions;  // [capacity*K,A] row e: edge e
  double qmin = std::numeric_limits<double>::infinity();
  double qmax = -std::numeric_limits<double>::infinity();

  double Normalized(double q) const { return qmax > qmin ? (q - qmin) / (qmax - qmin) : q; }
  void See(double q) {
    qmin = std::min(qmin, q);
    qmax = std::max(qmax, q);
  }
  // Adds a node per row of `rows` [L,S] (value and K edges from `ev`; none if done).
  void AddNodes(const Evaluation& ev, const std::vector<bool>& done, const torch::Tensor& rows) {
    const int64_t n = rows.size(0), k = ev.actions.size(1);
    const int first = static_cast<int>(nodes.size());
    states.index_copy_(0, torch::arange(first, first + n, torch::kLong).to(states.device()), rows);
    const auto value = ev.value.to(torch::kCPU, torch::kDouble).contiguous();
    const auto prior = ev.prior.to(torch::kCPU, torch::kDouble).contiguous();
    const int e0 = static_cast<int>(edges.size());
    actions.narrow(0, e0, n * k).copy_(ev.actions.reshape({n * k, -1}));
    for (int64_t i = 0; i < n; ++i) {
      Node node;
      node.value = done[i] ? 0.0 : value.data_ptr<double>()[i];
      node.first_edge = static_cast<int>(edges.size());
      node.num_edges = done[i] ? 0 : static_cast<int>(k);
      for (int64_t j = 0; j < k; ++j) {
        Edge e;
        e.prior = prior.data_ptr<double>()[i * k + j];
        edges.push_back(e);  // a terminal node's edges stay unused
      }
      nodes.push_back(node);
    }
  }
};

TreeSearch::TreeSearch(SearchConfig cfg, uint64_t seed) : cfg_(std::move(cfg)), rng_(seed) {
  MBRL_CHECK(cfg_.simulations >= 1 && cfg_.batch >= 1,
             "search: simulations and batch must be >= 1");
}

namespace {

// One simulation's way down: the edges taken from the root, and the leaf edge to expand (-1 when
// the path ended in a terminal node).
struct Path {
  std::vector<int> edges;
  int leaf = -1;
};

}  // namespace

SearchResult TreeSearch::Run(const torch::Tensor& root, StepModel& model, Evaluator& evaluator) {
  MBRL_CHECK(root.dim() == 1, "search: the root state must be [S], got ", root.dim(), " dims");
  Evaluation root_ev = evaluator.Evaluate(root.unsqueeze(0));
  const int64_t k = root_ev.actions.size(1), a_dim = root_ev.actions.size(2);
  MBRL_CHECK(k >= 1 && root_ev.prior.size(1) == k && root_ev.value.numel() == 1,
             "search: the evaluator must give value [N], actions [N,K,A] and prior [N,K]");
  Tree tree;
  const int64_t capacity = cfg_.simulations + 1;
  tree.states = torch::empty({capacity, root.size(0)}, root.options());
  tree.actions = torch::empty({capacity * k, a_dim}, root_ev.actions.options());
  tree.nodes.reserve(capacity);
  tree.edges.reserve(capacity * k);
  if (cfg_.root_noise > 0) {  // Dirichlet noise on the root prior (AlphaZero)
    std::gamma_distribution<double> gamma(cfg_.dirichlet_alpha, 1.0);
    std::vector<double> eta(k);
    double sum = 0;
    for (auto& x : eta) sum += (x = gamma(rng_));
    auto noise = torch::tensor(eta, torch::kDouble).div(sum).to(root_ev.prior.options());
    root_ev.prior = (1 - cfg_.root_noise) * root_ev.prior + cfg_.root_noise * noise;
  }
  tree.AddNodes(root_ev, {false}, root.unsqueeze(0));
  tree.nodes[0].visits = 1;

  // the child index a node's selection rule picks
  const auto select = [&](const Node& node) {
    int m = node.num_edges;
    const double n_parent = node.visits + node.virtual_visits;
    if (cfg_.progressive_widening)
      m = std::min(
          m,
          std::max(1, static_cast<int>(std::ceil(cfg_.pw_c * std::pow(n_parent, cfg_.pw_alpha)))));
    int best = 0;
    double best_score = -std::numeric_limits<double>::infinity();
    for (int j = 0; j < m; ++j) {
      const Edge& e = tree.edges[node.first_edge + j];
      const double n = e.visits + e.virtual_visits;
      // virtual visits count as the worst normalised value (0), spreading a batch's paths
      const double q = e.visits > 0 ? tree.Normalized(e.return_sum / e.visits) * e.visits / n : 0;
      double score;
      if (cfg_.rule == "uct") {
        score = n == 0 ? std::numeric_limits<double>::infinity()
                       : q + cfg_.uct_c * std::sqrt(std::log(std::max(n_parent, 1.0)) / n);
      } else {
        const double c =
            std::log((n_parent + cfg_.pb_c_base + 1) / cfg_.pb_c_base) + cfg_.pb_c_init;
        score = q + c * e.prior * std::sqrt(n_parent) / (1 + n);
      }
      if (score > best_score) best_score = score, best = j;
    }
    return node.first_edge + best;
  };

  double root_sum = 0;
  int done_sims = 0;
  while (done_sims < cfg_.simulations) {
    // select up to `batch` paths, with virtual visits along each
    std::vector<Path> paths;
    const int want = std::min(cfg_.batch, cfg_.simulations - done_sims);
    while (static_cast<int>(paths.size()) < want) {
      Path p;
      int node = 0;
      bool blocked = false;
      while (tree.nodes[node].num_edges > 0) {
        const int e = select(tree.nodes[node]);
        if (tree.edges[e].child < 0) {
          blocked = tree.edges[e].pending;
          p.leaf = e;
          break;
        }
        p.edges.push_back(e);
        node = tree.edges[e].child;
      }
      if (blocked) break;  // another path of this batch expands that edge
      tree.nodes[0].virtual_visits++;
      for (int e : p.edges)
        tree.edges[e].virtual_visits++, tree.nodes[tree.edges[e].child].virtual_visits++;
      if (p.leaf >= 0) tree.edges[p.leaf].pending = true, tree.edges[p.leaf].virtual_visits++;
      paths.push_back(std::move(p));
    }
    // expand the leaves in one model call and one evaluator call
    std::vector<int64_t> parents, leaves;
    for (const auto& p : paths)
      if (p.leaf >= 0) {
        leaves.push_back(p.leaf);
        parents.push_back(p.edges.empty() ? 0 : tree.edges[p.edges.back()].child);
      }
    if (!leaves.empty()) {
      const auto dev = tree.states.device();
      const auto s = tree.states.index_select(0, torch::tensor(parents).to(dev));
      const auto a = tree.actions.index_select(0, torch::tensor(leaves).to(tree.actions.device()));
      const StepModel::Out out = model.Step(s, a);
      const auto reward = out.reward.to(torch::kCPU, torch::kDouble).contiguous();
      const auto done_t = out.done.to(torch::kCPU, torch::kBool).contiguous();
      std::vector<bool> done(leaves.size());
      for (size_t i = 0; i < leaves.size(); ++i) done[i] = done_t.data_ptr<bool>()[i];
      const Evaluation ev = evaluator.Evaluate(out.next_state);
      MBRL_CHECK(ev.actions.size(1) == k, "search: the evaluator changed K");
      const int first = static_cast<int>(tree.nodes.size());
      tree.AddNodes(ev, done, out.next_state);
      for (size_t i = 0; i < leaves.size(); ++i) {
        Edge& e = tree.edges[leaves[i]];
        e.child = first + static_cast<int>(i);
        e.reward = reward.data_ptr<double>()[i];
        e.done = done[i];
        e.pending = false;
      }
    }
    // back up: G = leaf value, then r + discount * G up to the root
    for (auto& p : paths) {
      if (p.leaf >= 0) p.edges.push_back(p.leaf);
      const int last = p.edges.empty() ? 0 : tree.edges[p.edges.back()].child;
      double g = tree.nodes[last].value;
      tree.nodes[0].virtual_visits--;
      for (auto it = p.edges.rbegin(); it != p.edges.rend(); ++it) {
        Edge& e = tree.edges[*it];
        Node& child = tree.nodes[e.child];
        child.visits++;
        if (*it != p.leaf) child.virtual_visits--;
        e.virtual_visits--;
        g = e.reward + cfg_.discount * g;
        e.return_sum += g;
        e.visits++;
        tree.See(e.return_sum / e.visits);
      }
      tree.nodes[0].visits++;
      root_sum += g;
      ++done_sims;
    }
  }

  SearchResult r;
  const Node& root_node = tree.nodes[0];
  std::vector<float> visits(k), q(k);
  for (int64_t j = 0; j < k; ++j) {
    const Edge& e = tree.edges[root_node.first_edge + j];
    visits[j] = static_cast<float>(e.visits);
    q[j] = e.visits > 0 ? static_cast<float>(e.return_sum / e.visits) : 0.f;
  }
  r.actions = tree.actions.narrow(0, root_node.first_edge, k).clone();
  r.visits = torch::tensor(visits);
  r.q = torch::tensor(q);
  r.value = root_sum / cfg_.simulations;
  int64_t pick = 0;
  if (cfg_.temperature > 0) {
    r.policy = r.visits.pow(1.0 / cfg_.temperature);
    r.policy /= r.policy.sum();
    const auto p = r.policy.to(torch::kDouble).contiguous();
    std::discrete_distribution<int64_t> d(p.data_ptr<double>(), p.data_ptr<double>() + k);
    pick = d(rng_);
  } else {  // the most visited child; ties go to the higher mean return
    for (int64_t j = 1; j < k; ++j)
      if (visits[j] > visits[pick] || (visits[j] == visits[pick] && q[j] > q[pick])) pick = j;
    r.policy = torch::zeros({k});
    r.policy[pick] = 1;
  }
  r.action = r.actions[pick].clone();
  return r;
}

}  // namespace mbrl
