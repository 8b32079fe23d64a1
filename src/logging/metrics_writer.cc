#include "mbrl/logging/metrics_writer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "mbrl/core/check.h"
#include "mbrl/core/runtime.h"

namespace mbrl {
namespace fs = std::filesystem;
namespace {

std::string Num(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
  std::ostringstream os;
  os.precision(10);
  os << v;
  return os.str();
}

// keeps the header and the rows whose episode <= keep; returns the kept row count
int64_t CutCsv(const std::string& path, int64_t keep, int64_t max_rows,
               const std::vector<std::string>& columns) {
  std::ifstream in(path);
  std::string header, line, out;
  std::getline(in, header);
  std::string want;
  for (const auto& c : columns) want += (want.empty() ? "" : ",") + c;
  MBRL_CHECK(header == want, path, ": header does not match this run's metrics (", header, ")");
  int col = -1;
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == "episode") col = static_cast<int>(i);
  int64_t rows = 0;
  out = header + "\n";
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string cell;
    for (int i = 0; i <= col && std::getline(ss, cell, ','); ++i) {
    }
    if (line.empty() || cell.empty() || std::stoll(cell) > keep || rows >= max_rows) break;
    out += line + "\n";
    ++rows;
  }
  WriteFileAtomic(path, out);
  return rows;
}

int64_t CutJsonl(const std::string& path, int64_t keep, int64_t max_rows) {
  std::ifstream in(path);
  std::string line, out;
  int64_t rows = 0;
  while (std::getline(in, line) && rows < max_rows) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("episode") || !j["episode"].is_number() ||
        j["episode"].get<double>() > keep)
      break;
    out += line + "\n";
    ++rows;
  }
  WriteFileAtomic(path, out);
  return rows;
}

}  // namespace

MetricsWriter::MetricsWriter(const std::string& dir, std::vector<std::string> columns,
                             int64_t keep_episodes)
    : columns_(std::move(columns)) {
  const std::string csv = dir + "/metrics.csv", jsonl = dir + "/metrics.jsonl";
  const bool existed = fs::exists(csv);
  if (existed && keep_episodes >= 0) {
    // keep rows up to the resume point, and no more rows in one file than in the other
    const int64_t all = std::numeric_limits<int64_t>::max();
    const int64_t in_csv = CutCsv(csv, keep_episodes, all, columns_);
    const int64_t in_jsonl = fs::exists(jsonl) ? CutJsonl(jsonl, keep_episodes, all) : 0;
    rows_ = std::min(in_csv, in_jsonl);
    if (in_csv > rows_) CutCsv(csv, keep_episodes, rows_, columns_);
    if (in_jsonl > rows_) CutJsonl(jsonl, keep_episodes, rows_);
  }
  csv_ = std::fopen(csv.c_str(), "a");
  jsonl_ = std::fopen(jsonl.c_str(), "a");
  MBRL_CHECK(csv_ && jsonl_, dir, ": cannot open metrics files");
  events_ = std::make_unique<EventWriter>(dir);
  if (!existed || keep_episodes < 0) {
    std::string header;
    for (const auto& c : columns_) header += (header.empty() ? "" : ",") + c;
    std::fprintf(csv_, "%s\n", header.c_str());
    std::fflush(csv_);
  }
}

MetricsWriter::~MetricsWriter() {
  if (csv_) std::fclose(csv_);
  if (jsonl_) std::fclose(jsonl_);
}

void MetricsWriter::Write(const Metrics& row) {
  std::string line;
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (i) line += ",";
    if (const double* v = row.Find(columns_[i])) line += Num(*v);
  }
  std::fprintf(csv_, "%s\n", line.c_str());
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : row.items()) {
    if (std::isfinite(v)) {
      j[k] = v;
    } else {
      j[k] = nullptr;  // JSON has no NaN/Inf
    }
  }
  std::fprintf(jsonl_, "%s\n", j.dump().c_str());
  std::fflush(csv_);
  std::fflush(jsonl_);
  ::fsync(fileno(csv_));
  ::fsync(fileno(jsonl_));
  std::vector<std::pair<std::string, double>> scalars;
  for (const auto& kv : row.items())
    if (kv.first != "env_step") scalars.push_back(kv);
  const double* step = row.Find("env_step");
  Event(scalars, step ? static_cast<int64_t>(*step) : rows_);
  ++rows_;
}

void MetricsWriter::Event(const std::vector<std::pair<std::string, double>>& scalars,
                          int64_t step) {
  events_->Scalars(
      scalars, step,
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  events_->Flush();
}

std::vector<Metrics> ReadMetricsJsonl(const std::string& path) {
  std::ifstream in(path);
  MBRL_CHECK(in.good(), path, ": cannot open");
  std::vector<Metrics> rows;
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    MBRL_CHECK(!j.is_discarded() && j.is_object(), path, ":", n, ": malformed JSON line");
    Metrics m;
    for (auto it = j.begin(); it != j.end(); ++it)
      m.Set(it.key(), it->is_number() ? it->get<double>() : std::nan(""));
    rows.push_back(std::move(m));
  }
  return rows;
}

}  // namespace mbrl
