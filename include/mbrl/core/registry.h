#pragma once
/// A name -> entry table filled by static registrars in the files that define the entries (tasks,
/// agents), so that adding one never edits a central list.
#include <map>
#include <string>
#include <vector>

#include "mbrl/core/check.h"

namespace mbrl {

template <class Entry>
class Registry {
 public:
  /// `key` and `noun` name the config key and the thing in errors ("env.name", "task").
  Registry(std::string key, std::string noun) : key_(std::move(key)), noun_(std::move(noun)) {}

  void Add(const std::string& name, Entry entry) {
    MBRL_CHECK(table_.emplace(name, std::move(entry)).second, noun_, " '", name,
               "' registered twice");
  }
  /// Throws mbrl::Error naming the known names for an unknown one.
  const Entry& Find(const std::string& name) const {
    auto it = table_.find(name);
    if (it == table_.end()) {
      std::string all;
      for (const auto& n : Names()) all += (all.empty() ? "" : ", ") + n;
      throw Error(key_ + ": unknown " + noun_ + " '" + name + "' (known: " + all + ")");
    }
    return it->second;
  }
  /// Registered names, sorted.
  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    for (const auto& kv : table_) names.push_back(kv.first);
    return names;
  }

 private:
  std::string key_, noun_;
  std::map<std::string, Entry> table_;
};

}  // namespace mbrl
