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
  int64_t k = 0;  // edges per node (a terminal node's stay unused)
  std::vector<Node> nodes;
  std::vector<Edge> edges;
  torch::Tensor states;   // [capacity,S] row i: node i
  torch::Tensor actions;  // [capacity*K,A] row e: edge e
  double qmin = std::numeric_limits<double>::infinity();
  double qmax = -std::numeric_limits<double>::infinity();

  double Normalized(double q) const { return qmax > qmin ? (q - qmin) / (qmax - qmin) : q; }
  // q in [0, 1] by the tree's bounds (0.5 before two values differ): Gumbel search's scale
  double Unit(double q) const {
    return qmax > qmin ? std::clamp((q - qmin) / (qmax - qmin), 0.0, 1.0) : 0.5;
  }
  // Gumbel MuZero's completed q of a node's edges, mapped by sigma and added to the log prior:
  // the logits of the improved policy. Unvisited edges take v_mix, which mixes the node's value
  // estimate with the prior-weighted mean q of the visited ones (Danihelka et al. 2022, eq. 33).
  std::vector<double> ImprovedLogits(const Node& node, double c_visit, double c_scale) const {
    double sum_n = 0, sum_p = 0, sum_pq = 0, max_n = 0;
    for (int j = 0; j < node.num_edges; ++j) {
      const Edge& e = edges[node.first_edge + j];
      if (e.visits == 0) continue;
      sum_n += e.visits, sum_p += e.prior, sum_pq += e.prior * e.return_sum / e.visits;
      max_n = std::max(max_n, static_cast<double>(e.visits));
    }
    const double v_mix =
        sum_p > 0 ? (node.value + sum_n / sum_p * sum_pq) / (1 + sum_n) : node.value;
    std::vector<double> logits(node.num_edges);
    for (int j = 0; j < node.num_edges; ++j) {
      const Edge& e = edges[node.first_edge + j];
      const double q = e.visits > 0 ? e.return_sum / e.visits : v_mix;
      logits[j] = std::log(std::max(e.prior, 1e-30)) + (c_visit + max_n) * c_scale * Unit(q);
    }
    return logits;
  }
  void See(double q) {
    qmin = std::min(qmin, q);
    qmax = std::max(qmax, q);
  }
  // The subtree under node `top`, as a tree of its own (top becomes node 0) with room for
  // `extra` more nodes; min-max bounds from its own values.
  Tree Subtree(int top, int64_t extra) const {
    std::vector<int64_t> old_nodes{top}, old_edges;
    Tree t;
    t.k = k;
    for (size_t i = 0; i < old_nodes.size(); ++i) {
      Node n = nodes[old_nodes[i]];
      const int first = n.first_edge;
      n.first_edge = static_cast<int>(t.edges.size());
      n.virtual_visits = 0;
      t.nodes.push_back(n);
      for (int64_t j = 0; j < k; ++j) {
        Edge e = edges[first + j];
        old_edges.push_back(first + j);
        if (e.child >= 0) {
          old_nodes.push_back(e.child);
          e.child = static_cast<int>(old_nodes.size() - 1);
        }
        if (e.visits > 0) t.See(e.return_sum / e.visits);
        t.edges.push_back(e);
      }
    }
    const int64_t cap = static_cast<int64_t>(old_nodes.size()) + extra;
    t.states = torch::empty({cap, states.size(1)}, states.options());
    t.actions = torch::empty({cap * k, actions.size(1)}, actions.options());
    const auto idx = [](const std::vector<int64_t>& v, const torch::Tensor& like) {
      return torch::tensor(v, torch::kLong).to(like.device());
    };
    t.states.narrow(0, 0, old_nodes.size()).copy_(states.index_select(0, idx(old_nodes, states)));
    t.actions.narrow(0, 0, old_edges.size())
        .copy_(actions.index_select(0, idx(old_edges, actions)));
    t.nodes.reserve(cap);
    t.edges.reserve(cap * k);
    return t;
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
  const int64_t capacity = cfg_.simulations + 1;
  Tree tree;
  if (cfg_.reuse_tree && kept_ && kept_child_ >= 0 &&
      torch::equal(kept_->states[kept_child_], root.to(kept_->states.options()))) {
    tree = kept_->Subtree(kept_child_, capacity);  // the step taken: its subtree stays valid
  } else {
    const Evaluation root_ev = evaluator.Evaluate(root.unsqueeze(0));
    const int64_t k = root_ev.actions.size(1);
    MBRL_CHECK(k >= 1 && root_ev.prior.size(1) == k && root_ev.value.numel() == 1,
               "search: the evaluator must give value [N], actions [N,K,A] and prior [N,K]");
    tree.k = k;
    tree.states = torch::empty({capacity, root.size(0)}, root.options());
    tree.actions = torch::empty({capacity * k, root_ev.actions.size(2)}, root_ev.actions.options());
    tree.nodes.reserve(capacity);
    tree.edges.reserve(capacity * k);
    tree.AddNodes(root_ev, {false}, root.unsqueeze(0));
    tree.nodes[0].visits = 1;
  }
  const int64_t k = tree.k;
  if (cfg_.root_noise > 0) {  // Dirichlet noise on the root prior (AlphaZero)
    std::gamma_distribution<double> gamma(cfg_.dirichlet_alpha, 1.0);
    std::vector<double> eta(k);
    double sum = 0;
    for (auto& x : eta) sum += (x = gamma(rng_));
    for (int64_t j = 0; j < k; ++j) {
      double& prior = tree.edges[tree.nodes[0].first_edge + j].prior;
      prior = (1 - cfg_.root_noise) * prior + cfg_.root_noise * eta[j] / sum;
    }
  }

  // the child index a node's selection rule picks
  const auto select = [&](const Node& node) {
    if (cfg_.rule == "gumbel") {  // argmax improved policy - n / (1 + sum n), n with virtual
      const auto logits = tree.ImprovedLogits(node, cfg_.c_visit, cfg_.c_scale);
      const double top = *std::max_element(logits.begin(), logits.end());
      double z = 0, sum_n = 0;
      for (int j = 0; j < node.num_edges; ++j) {
        const Edge& e = tree.edges[node.first_edge + j];
        z += std::exp(logits[j] - top), sum_n += e.visits + e.virtual_visits;
      }
      int best = 0;
      double best_score = -std::numeric_limits<double>::infinity();
      for (int j = 0; j < node.num_edges; ++j) {
        const Edge& e = tree.edges[node.first_edge + j];
        const double score =
            std::exp(logits[j] - top) / z - (e.visits + e.virtual_visits) / (1 + sum_n);
        if (score > best_score) best_score = score, best = j;
      }
      return node.first_edge + best;
    }
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

  // gumbel: sequential halving over the root's top-m actions by g + log prior (Gumbel-top-m),
  // each phase visiting its survivors evenly; the rest of the search descends from the child
  std::vector<double> root_score(k);  // the root's Gumbel noise g
  std::vector<int> survivors, queue;
  size_t next = 0;
  int phase = 0, planned = 0, phases = 1;
  const auto rank = [&] {
    const auto logits = tree.ImprovedLogits(tree.nodes[0], cfg_.c_visit, cfg_.c_scale);
    std::vector<double> score(k);
    for (int64_t j = 0; j < k; ++j) score[j] = root_score[j] + logits[j];
    std::stable_sort(survivors.begin(), survivors.end(),
                     [&](int a, int b) { return score[a] > score[b]; });
  };
  const auto plan_phase = [&] {  // the next phase's root children, round robin
    if (phase > 0) {
      rank();
      survivors.resize(std::max<size_t>(1, (survivors.size() + 1) / 2));
    }
    const int r = static_cast<int>(survivors.size());
    const int budget =
        phase + 1 >= phases ? cfg_.simulations - planned : std::max(r, cfg_.simulations / phases);
    queue.clear();
    next = 0;
    for (int i = 0; i < std::max(1, budget / r) && planned < cfg_.simulations; ++i)
      for (int j = 0; j < r && planned < cfg_.simulations; ++j, ++planned)
        queue.push_back(survivors[j]);
    ++phase;
  };
  if (cfg_.rule == "gumbel") {
    std::extreme_value_distribution<double> gumbel;  // standard Gumbel(0, 1)
    for (auto& g : root_score) g = cfg_.gumbel_scale * gumbel(rng_);
    const auto log_prior = tree.ImprovedLogits(tree.nodes[0], 0, 0);  // nothing visited yet
    survivors.resize(k);
    for (int64_t j = 0; j < k; ++j) survivors[j] = static_cast<int>(j);
    std::stable_sort(survivors.begin(), survivors.end(), [&](int a, int b) {
      return root_score[a] + log_prior[a] > root_score[b] + log_prior[b];
    });
    survivors.resize(std::min<int64_t>(cfg_.gumbel_m, k));
    phases = std::max(1, static_cast<int>(std::ceil(std::log2(survivors.size()))));
    plan_phase();
  }

  double root_sum = 0;
  int done_sims = 0;
  while (done_sims < cfg_.simulations) {
    if (cfg_.rule == "gumbel" && next == queue.size()) plan_phase();
    // select up to `batch` paths, with virtual visits along each
    std::vector<Path> paths;
    const int want = std::min(cfg_.batch, cfg_.simulations - done_sims);
    while (static_cast<int>(paths.size()) < want) {
      Path p;
      int node = 0;
      bool blocked = false;
      if (cfg_.rule == "gumbel" && next == queue.size()) break;  // the phase ends: back up first
      while (tree.nodes[node].num_edges > 0) {
        const int e = node == 0 && cfg_.rule == "gumbel" ? tree.nodes[0].first_edge + queue[next]
                                                         : select(tree.nodes[node]);
        if (tree.edges[e].child < 0) {
          blocked = tree.edges[e].pending;
          p.leaf = e;
          break;
        }
        p.edges.push_back(e);
        node = tree.edges[e].child;
      }
      if (blocked) break;  // another path of this batch expands that edge
      if (cfg_.rule == "gumbel") ++next;
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
  if (cfg_.rule == "gumbel") {  // the best survivor by g + log prior + sigma(q)
    const auto logits = tree.ImprovedLogits(root_node, cfg_.c_visit, cfg_.c_scale);
    rank();
    pick = survivors[0];
    r.policy = torch::softmax(torch::tensor(logits, torch::kDouble), 0).to(torch::kFloat);
  } else if (cfg_.temperature > 0) {
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
  kept_child_ = tree.edges[root_node.first_edge + pick].child;
  if (cfg_.reuse_tree) kept_ = std::make_shared<Tree>(std::move(tree));
  return r;
}

}  // namespace mbrl
