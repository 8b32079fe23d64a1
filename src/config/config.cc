#include "mbrl/config/config.h"

#include <filesystem>
#include <set>
#include <sstream>

#include "mbrl/core/runtime.h"

namespace mbrl::config {
namespace fs = std::filesystem;

namespace {

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string Origin(const Origins* origins, const std::string& path) {
  if (origins) {
    // the origin of the longest recorded prefix of path
    for (std::string p = path;;) {
      auto it = origins->find(p);
      if (it != origins->end()) return it->second;
      const auto dot = p.find_last_of(".[");
      if (dot == std::string::npos) break;
      p = p.substr(0, dot);
    }
    auto root = origins->find("");
    if (root != origins->end()) return root->second;
  }
  return "config";
}

void RecordOrigins(const Json& j, const std::string& prefix, const std::string& source,
                   Origins* origins) {
  (*origins)[prefix] = source;
  if (!j.is_object()) return;
  for (auto it = j.begin(); it != j.end(); ++it)
    RecordOrigins(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), source, origins);
}

Json LoadLayeredImpl(const std::string& file, Origins* origins, std::set<std::string>* seen) {
  const std::string canon = fs::weakly_canonical(file).string();
  MBRL_CHECK(seen->insert(canon).second, file, ": \"base\" chain includes this file twice");
  Json j = ParseJson(ReadFile(file), file);
  MBRL_CHECK(j.is_object(), file, ": expected a JSON object at top level");
  Json merged = Json::object();
  if (auto it = j.find("base"); it != j.end()) {
    std::vector<std::string> bases;
    if (it->is_string()) {
      bases.push_back(it->get<std::string>());
    } else {
      MBRL_CHECK(it->is_array(), file, ": base: expected a path or a list of paths");
      for (const auto& b : *it) {
        MBRL_CHECK(b.is_string(), file, ": base: expected a path or a list of paths");
        bases.push_back(b.get<std::string>());
      }
    }
    const fs::path dir = fs::path(file).parent_path();
    for (const auto& b : bases) {
      const fs::path bp = fs::path(b).is_absolute() ? fs::path(b) : dir / b;
      MBRL_CHECK(fs::exists(bp), file, ": base: file not found: ", bp.string());
      MBRL_CHECK(fs::is_regular_file(bp), file, ": base: not a regular file: ", bp.string());
      merged.merge_patch(LoadLayeredImpl(bp.string(), origins, seen));
    }
    j.erase("base");
  }
  RecordOrigins(j, "", file, origins);
  merged.merge_patch(j);
  return merged;
}

Json Coerce(const std::string& path, const std::string& text, const Json& like) {
  const auto fail = [&](const char* type) -> Json {
    throw Error("command line: " + path + ": expected " + type + ", got '" + text + "'");
  };
  try {
    size_t used = 0;
    if (like.is_boolean()) {
      if (text == "true" || text == "1") return true;
      if (text == "false" || text == "0") return false;
      return fail("boolean (true|false)");
    }
    if (like.is_number_integer()) {
      const long long v = std::stoll(text, &used);
      return used == text.size() ? Json(v) : fail("integer");
    }
    if (like.is_number()) {
      const double v = std::stod(text, &used);
      return used == text.size() ? Json(v) : fail("number");
    }
  } catch (const std::logic_error&) {  // stoll/stod: invalid or out of range
    return fail(like.is_boolean() ? "boolean" : like.is_number_integer() ? "integer" : "number");
  }
  if (like.is_string()) return text;
  Json parsed = ParseJson(text, "command line: " + path);
  // a number may stand for a list of one (the struct reader decides)
  if (like.is_array() && !parsed.is_array() && !parsed.is_number()) return fail("JSON array");
  if (like.is_object() && !parsed.is_object()) return fail("JSON object");
  return parsed;
}

}  // namespace

std::string ClosestKey(const std::string& key, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    const size_t d = EditDistance(key, c);
    if (d < best_d) best_d = d, best = c;
  }
  return best_d <= std::max<size_t>(2, key.size() / 2) ? best : "";
}

void JsonReader::Fail(const std::string& path, const std::string& what) const {
  throw Error(Origin(origins_, path) + ": " + path + ": " + what);
}

void JsonReader::Expect(const std::string& path, const Json& j, bool ok, const char* type) const {
  if (!ok) Fail(path, std::string("expected ") + type + ", got " + j.type_name() + " " + j.dump());
}

void JsonReader::Finish() const {
  for (auto it = json_.begin(); it != json_.end(); ++it) {
    if (std::find(known_.begin(), known_.end(), it.key()) != known_.end()) continue;
    const std::string close = ClosestKey(it.key(), known_);
    Fail(
        Path(it.key()),
        "unknown key" + (close.empty() ? std::string() : " (did you mean '" + Path(close) + "'?)"));
  }
}

std::string JsonReader::RangeText(const Limits& l) {
  const auto num = [](double v) {
    std::ostringstream os;
    os << v;
    return os.str();
  };
  return "[" + (l.min ? num(*l.min) : "-inf") + ", " + (l.max ? num(*l.max) : "inf") + "]";
}

Json ParseJson(const std::string& text, const std::string& source) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {  // parse_error, or out_of_range for a number overflow
    std::string msg = e.what();
    if (auto p = msg.find("] "); p != std::string::npos) msg = msg.substr(p + 2);
    throw Error(source + ": malformed JSON: " + msg);
  }
}

Json LoadLayered(const std::string& file, Origins* origins) {
  std::set<std::string> seen;
  return LoadLayeredImpl(file, origins, &seen);
}

void ApplyOverride(const std::string& arg, const Json& current, Json* merged, Origins* origins) {
  const auto eq = arg.find('=');
  MBRL_CHECK(eq != std::string::npos && eq > 0, "command line: '", arg,
             "': expected key.path=value");
  const std::string path = arg.substr(0, eq), text = arg.substr(eq + 1);
  const Json* node = &current;
  Json* target = merged;
  std::string walked;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? dot : dot - start);
    MBRL_CHECK(node->is_object(), "command line: ", walked, ": is not a section, cannot set '",
               path, "'");
    const std::string here = walked.empty() ? key : walked + "." + key;
    auto it = node->find(key);
    if (it == node->end()) {
      std::vector<std::string> keys;
      for (auto k = node->begin(); k != node->end(); ++k) keys.push_back(k.key());
      const std::string close = ClosestKey(key, keys);
      throw Error("command line: " + here + ": unknown key" +
                  (close.empty() ? ""
                                 : " (did you mean '" +
                                       (walked.empty() ? close : walked + "." + close) + "'?)"));
    }
    node = &*it;
    if (!target->contains(key) || !(*target)[key].is_object()) {
      if (dot != std::string::npos) (*target)[key] = Json::object();
    }
    walked = here;
    if (dot == std::string::npos) {
      (*target)[key] = Coerce(path, text, *node);
      RecordOrigins((*target)[key], path, "command line", origins);
      break;
    }
    target = &(*target)[key];
    start = dot + 1;
  }
}

}  // namespace mbrl::config
