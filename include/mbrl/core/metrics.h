#pragma once
/// Named scalars reported by agents and the run loop, in insertion order.
#include <string>
#include <utility>
#include <vector>

namespace mbrl {

class Metrics {
 public:
  void Set(const std::string& key, double value) {
    for (auto& kv : items_)
      if (kv.first == key) {
        kv.second = value;
        return;
      }
    items_.emplace_back(key, value);
  }
  const double* Find(const std::string& key) const {
    for (const auto& kv : items_)
      if (kv.first == key) return &kv.second;
    return nullptr;
  }
  void Merge(const Metrics& other) {
    for (const auto& [k, v] : other.items_) Set(k, v);
  }
  const std::vector<std::pair<std::string, double>>& items() const { return items_; }
  void Clear() { items_.clear(); }

 private:
  std::vector<std::pair<std::string, double>> items_;
};

}  // namespace mbrl
