#pragma once
/// Strict JSON <-> typed config structs.
///
/// A config struct names its fields once in a visitor:
///   struct CemConfig {
///     int iterations = 5;
///     template <class V> void Visit(V& v) { v("iterations", iterations, AtLeast(1)); }
///   };
/// JsonReader fills a struct from JSON (unknown keys, wrong types and out-of-range values are
/// errors naming the file and the key path); JsonWriter turns it back into JSON. Files are layered
/// with a top-level "base" key; command-line overrides `a.b=value` take their type from the current
/// value.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "mbrl/core/check.h"

namespace mbrl::config {

using Json = nlohmann::json;

/// Valid range (inclusive) or set of choices for a field.
struct Limits {
  std::optional<double> min, max;
  std::vector<std::string> choices;
};
inline Limits AtLeast(double lo) { return {lo, std::nullopt, {}}; }
inline Limits Between(double lo, double hi) { return {lo, hi, {}}; }
inline Limits OneOf(std::vector<std::string> c) {
  return {std::nullopt, std::nullopt, std::move(c)};
}

/// Where each key path came from ("configs/a.json", "command line"), for error messages.
using Origins = std::map<std::string, std::string>;

class JsonReader;
template <class T, class = void>
struct IsVisitable : std::false_type {};
template <class T>
struct IsVisitable<T, std::void_t<decltype(std::declval<T&>().Visit(std::declval<JsonReader&>()))>>
    : std::true_type {};

/// The closest candidate by edit distance, or "" when none is reasonably close.
std::string ClosestKey(const std::string& key, const std::vector<std::string>& candidates);

/// Fills visitable structs from a JSON object. Call Finish() after the visit to reject unknown
/// keys.
class JsonReader {
 public:
  JsonReader(const Json& json, std::string prefix, const Origins* origins)
      : json_(json), prefix_(std::move(prefix)), origins_(origins) {
    if (!json_.is_object()) Fail(prefix_.empty() ? "<root>" : prefix_, "expected an object");
  }

  template <class T>
  void operator()(const char* key, T& field, const Limits& limits = {}) {
    known_.emplace_back(key);
    auto it = json_.find(key);
    if (it == json_.end()) return;  // keep the default
    const std::string path = Path(key);
    Read(path, *it, field);
    Check(path, field, limits);
  }

  /// Throws on the first key that no field claimed.
  void Finish() const;

  [[noreturn]] void Fail(const std::string& path, const std::string& what) const;

 private:
  std::string Path(const std::string& key) const {
    return prefix_.empty() ? key : prefix_ + "." + key;
  }
  void Expect(const std::string& path, const Json& j, bool ok, const char* type) const;

  template <class T>
  void Read(const std::string& path, const Json& j, T& field) {
    if constexpr (IsVisitable<T>::value) {
      Expect(path, j, j.is_object(), "object");
      JsonReader sub(j, path, origins_);
      field.Visit(sub);
      sub.Finish();
    } else if constexpr (std::is_same_v<T, bool>) {
      Expect(path, j, j.is_boolean(), "boolean");
      field = j.get<bool>();
    } else if constexpr (std::is_integral_v<T>) {
      Expect(path, j, j.is_number_integer(), "integer");
      if (j.is_number_unsigned() &&
          j.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
        Fail(path, "value " + j.dump() + " does not fit the field's integer type");
      const auto v = j.get<int64_t>();
      if (v < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
          (v > 0 &&
           static_cast<uint64_t>(v) > static_cast<uint64_t>(std::numeric_limits<T>::max())))
        Fail(path, "value " + std::to_string(v) + " does not fit the field's integer type");
      field = static_cast<T>(v);
    } else if constexpr (std::is_floating_point_v<T>) {
      Expect(path, j, j.is_number(), "number");
      field = j.get<T>();
    } else if constexpr (std::is_same_v<T, std::string>) {
      Expect(path, j, j.is_string(), "string");
      field = j.get<std::string>();
    } else {  // std::vector<scalar>; a number where a list of numbers goes is a list of one
      using Item = typename T::value_type;
      constexpr bool numeric = std::is_arithmetic_v<Item> && !std::is_same_v<Item, bool>;
      if (numeric && j.is_number()) {
        Item item{};
        Read(path, j, item);
        field = {item};
        return;
      }
      Expect(path, j, j.is_array(), "array");
      field.clear();
      for (size_t i = 0; i < j.size(); ++i) {
        typename T::value_type item{};
        Read(path + "[" + std::to_string(i) + "]", j[i], item);
        field.push_back(item);
      }
    }
  }

  template <class T>
  void Check(const std::string& path, const T& field, const Limits& limits) const {
    if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
      const double v = static_cast<double>(field);
      if (!std::isfinite(v)) Fail(path, "value is not finite");  // JSON has no NaN/Inf
      if ((limits.min && v < *limits.min) || (limits.max && v > *limits.max))
        Fail(path, "value " + Json(field).dump() + " out of range " + RangeText(limits));
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!limits.choices.empty() &&
          std::find(limits.choices.begin(), limits.choices.end(), field) == limits.choices.end())
        Fail(path, "'" + field + "' is not one of " + Json(limits.choices).dump());
    } else if constexpr (!IsVisitable<T>::value && !std::is_same_v<T, bool>) {
      for (const auto& item : field) Check(path, item, limits);
    }
  }
  static std::string RangeText(const Limits& l);

  const Json& json_;
  std::string prefix_;
  const Origins* origins_;
  std::vector<std::string> known_;
};

/// Turns a visitable struct into JSON.
class JsonWriter {
 public:
  template <class T>
  void operator()(const char* key, const T& field, const Limits& = {}) {
    if constexpr (IsVisitable<T>::value) {
      JsonWriter sub;
      const_cast<T&>(field).Visit(sub);
      json[key] = sub.json;
    } else {
      json[key] = field;
    }
  }
  Json json = Json::object();
};

template <class T>
Json ToJson(const T& cfg) {
  JsonWriter w;
  const_cast<T&>(cfg).Visit(w);
  return w.json;
}

/// Fills a T from JSON; throws mbrl::Error "<file>: <key.path>: <problem>".
template <class T>
T FromJson(const Json& json, const Origins& origins = {}) {
  T cfg;
  JsonReader r(json, "", &origins);
  cfg.Visit(r);
  r.Finish();
  return cfg;
}

/// Parses JSON text; a syntax error names the file, line and column.
Json ParseJson(const std::string& text, const std::string& source);

/// Reads `file` and its "base" chain (paths relative to each file), deep-merged, base first.
Json LoadLayered(const std::string& file, Origins* origins);

/// Applies one `a.b=value` override. `current` is the config as currently resolved (ToJson), used
/// to find the key and its type; the value is coerced to that type.
void ApplyOverride(const std::string& arg, const Json& current, Json* merged, Origins* origins);

/// Files (layered in order) + overrides -> T.
template <class T>
T Load(const std::vector<std::string>& files, const std::vector<std::string>& overrides,
       Json* resolved = nullptr) {
  Origins origins;
  Json merged = Json::object();
  for (const auto& f : files) merged.merge_patch(LoadLayered(f, &origins));
  for (const auto& o : overrides)
    ApplyOverride(o, ToJson(FromJson<T>(merged, origins)), &merged, &origins);
  T cfg = FromJson<T>(merged, origins);
  if (resolved) *resolved = ToJson(cfg);
  return cfg;
}

}  // namespace mbrl::config
