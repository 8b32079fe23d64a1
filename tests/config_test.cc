#include "mbrl/config/config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "agents/run_config.h"

namespace mbrl {
namespace {

using config::Json;

struct Inner {
  int population = 400;
  double alpha = 0.1;
  std::vector<double> bounds = {-1.0, 1.0};
  template <class V>
  void Visit(V& v) {
    v("population", population, config::AtLeast(1));
    v("alpha", alpha, config::Between(0, 1));
    v("bounds", bounds);
  }
};
struct Outer {
  std::string mode = "cem";
  bool verbose = false;
  int64_t steps = 1000;
  Inner planner;
  template <class V>
  void Visit(V& v) {
    v("mode", mode, config::OneOf({"cem", "icem"}));
    v("verbose", verbose);
    v("steps", steps, config::AtLeast(1));
    v("planner", planner);
  }
};

std::string Write(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// the error message of Load, or "" when it succeeds
std::string ErrorOf(const std::vector<std::string>& files, const std::vector<std::string>& ov) {
  try {
    config::Load<Outer>(files, ov);
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line: " << e.what();
    return e.what();
  }
  return "";
}

TEST(Config, DefaultsFilesAndOverrides) {
  auto f = Write("a.json", R"({"mode": "icem", "planner": {"population": 50}})");
  Json resolved;
  auto c = config::Load<Outer>(
      {f}, {"planner.alpha=0.5", "steps=7", "verbose=true", "planner.bounds=[0,2,3]"}, &resolved);
  EXPECT_EQ(c.mode, "icem");
  EXPECT_EQ(c.planner.population, 50);
  EXPECT_DOUBLE_EQ(c.planner.alpha, 0.5);
  EXPECT_EQ(c.steps, 7);
  EXPECT_TRUE(c.verbose);
  EXPECT_EQ(c.planner.bounds, (std::vector<double>{0, 2, 3}));
  // resolved config round-trips
  EXPECT_EQ(resolved["planner"]["population"], 50);
  auto again = config::FromJson<Outer>(resolved);
  EXPECT_EQ(config::ToJson(again), resolved);
}

// a number where a list of numbers goes is a list of one, in files and overrides; other
// non-arrays stay errors
TEST(Config, NumberIsAListOfOne) {
  auto f = Write("one.json", R"({"planner": {"bounds": 0.5}})");
  EXPECT_EQ(config::Load<Outer>({f}, {}).planner.bounds, std::vector<double>{0.5});
  EXPECT_EQ(config::Load<Outer>({}, {"planner.bounds=2"}).planner.bounds, std::vector<double>{2});
  EXPECT_NE(ErrorOf({}, {"planner.bounds=\"x\""}).find("expected JSON array"), std::string::npos);
  auto s = Write("str.json", R"({"planner": {"bounds": "x"}})");
  EXPECT_NE(ErrorOf({s}, {}).find("str.json: planner.bounds: expected array"), std::string::npos)
      << ErrorOf({s}, {});
}

TEST(Config, LayeredBaseFiles) {
  Write("base.json", R"({"steps": 5, "planner": {"population": 10, "alpha": 0.2}})");
  auto child = Write("child.json", R"({"base": "base.json", "planner": {"alpha": 0.3}})");
  auto c = config::Load<Outer>({child}, {});
  EXPECT_EQ(c.steps, 5);
  EXPECT_EQ(c.planner.population, 10);
  EXPECT_DOUBLE_EQ(c.planner.alpha, 0.3);
  // an error in the base names the base file
  Write("badbase.json", R"({"planner": {"populaton": 10}})");
  auto child2 = Write("child2.json", R"({"base": "badbase.json"})");
  EXPECT_NE(ErrorOf({child2}, {}).find("badbase.json: planner.populaton"), std::string::npos);
  auto loop = Write("loop.json", R"({"base": "loop.json"})");
  EXPECT_NE(ErrorOf({loop}, {}).find("twice"), std::string::npos);
}

TEST(Config, UnknownKeyNamesFileKeyAndClosest) {
  auto f = Write("unknown.json", R"({"planner": {"populaton": 10}})");
  const std::string e = ErrorOf({f}, {});
  EXPECT_NE(e.find("unknown.json: planner.populaton: unknown key"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'planner.population'"), std::string::npos) << e;
  const std::string o = ErrorOf({}, {"planner.alpah=0.3"});
  EXPECT_NE(o.find("command line: planner.alpah: unknown key"), std::string::npos) << o;
  EXPECT_NE(o.find("planner.alpha"), std::string::npos) << o;
}

TEST(Config, WrongTypes) {
  auto f = Write("type.json", R"({"steps": "many"})");
  EXPECT_NE(ErrorOf({f}, {}).find("type.json: steps: expected integer, got string"),
            std::string::npos);
  auto g = Write("type2.json", R"({"planner": {"population": 3.5}})");
  EXPECT_NE(ErrorOf({g}, {}).find("planner.population: expected integer"), std::string::npos);
  auto h = Write("type3.json", R"({"planner": 3})");
  EXPECT_NE(ErrorOf({h}, {}).find("planner: expected object"), std::string::npos);
  EXPECT_NE(ErrorOf({}, {"steps=abc"}).find("command line: steps: expected integer, got 'abc'"),
            std::string::npos);
  EXPECT_NE(ErrorOf({}, {"verbose=yes"}).find("expected boolean"), std::string::npos);
  EXPECT_NE(ErrorOf({}, {"planner.alpha=0.1x"}).find("expected number"), std::string::npos);
  EXPECT_NE(ErrorOf({}, {"steps"}).find("expected key.path=value"), std::string::npos);
  EXPECT_NE(ErrorOf({}, {"planner=3"}).find("expected JSON object"), std::string::npos);
}

TEST(Config, OutOfRangeAndChoices) {
  EXPECT_NE(ErrorOf({}, {"planner.population=0"})
                .find("command line: planner.population: value 0 out of range [1, inf]"),
            std::string::npos);
  EXPECT_NE(ErrorOf({}, {"planner.alpha=1.5"}).find("out of range [0, 1]"), std::string::npos);
  EXPECT_NE(ErrorOf({}, {"mode=mppi"}).find("'mppi' is not one of"), std::string::npos);
  EXPECT_NE(ErrorOf({}, {"steps=99999999999999999999"}).find("expected integer"),
            std::string::npos);
}

TEST(Config, MalformedJsonAndMissingFile) {
  auto f = Write("broken.json", "{\"steps\": 5,\n \"mode\": }");
  const std::string e = ErrorOf({f}, {});
  EXPECT_NE(e.find("broken.json: malformed JSON"), std::string::npos) << e;
  EXPECT_NE(e.find("line 2"), std::string::npos) << e;
  EXPECT_NE(ErrorOf({"/nonexistent.json"}, {}).find("/nonexistent.json: cannot open"),
            std::string::npos);
  auto arr = Write("array.json", "[1, 2]");
  EXPECT_NE(ErrorOf({arr}, {}).find("expected a JSON object"), std::string::npos);
}

// Fuzzer findings and their neighbours: each is a one-line error naming the file or key, never an
// uncaught nlohmann exception, a wrapped integer, or a value config.json cannot hold.
TEST(Config, NumbersJsonCannotHoldAreErrors) {
  // tests/fuzz/crashes/config-number-overflow: 1e999 escaped as json out_of_range
  auto big = Write("big.json", R"({"steps": 77777e7777})");
  EXPECT_NE(
      ErrorOf({big}, {}).find("big.json: malformed JSON: number overflow parsing '77777e7777'"),
      std::string::npos)
      << ErrorOf({big}, {});
  // an override of inf would be saved as null in config.json (JSON has no Inf/NaN)
  auto ok = Write("ok.json", "{}");
  EXPECT_NE(ErrorOf({ok}, {"planner.bounds=[0, 1]", "planner.alpha=inf"}).find("not finite"),
            std::string::npos);
  EXPECT_NE(ErrorOf({ok}, {"planner.bounds=[-inf]"}).find("malformed JSON"), std::string::npos);
  // 2^64 - 1 used to wrap to -1 in an int64 field
  auto wrap = Write("wrap.json", R"({"steps": 18446744073709551615})");
  EXPECT_NE(ErrorOf({wrap}, {}).find("steps: value 18446744073709551615 does not fit"),
            std::string::npos)
      << ErrorOf({wrap}, {});
  // a base that is not a regular file (a directory, a device) is refused, not read
  auto dev = Write("dev.json", R"({"base": "/dev/zero"})");
  EXPECT_NE(ErrorOf({dev}, {}).find("base: not a regular file: /dev/zero"), std::string::npos);
}

TEST(Config, RunConfigAgentSectionsAndTask) {
  Json resolved;
  auto c = LoadRunConfig({}, {"env.name=hopper", "seed=3"}, &resolved);
  EXPECT_EQ(c.env.name, "hopper");
  EXPECT_EQ(c.seed, 3);
  EXPECT_TRUE(resolved.contains("random"));
  try {
    LoadRunConfig({}, {"env.name=hoper"}, nullptr);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'hopper'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(LoadRunConfig({}, {"device=tpu"}, nullptr), Error);
  EXPECT_THROW(LoadRunConfig({}, {"env.action_repeat=0"}, nullptr), Error);
  // MBPO's per-layer weight decay must follow a change of the layer count
  const auto mbpo = Write("mbpo.json", R"({"agent": "mbpo", "mbpo": {"model": {"layers": 3}}})");
  try {
    LoadRunConfig({mbpo}, {}, nullptr);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mbpo.json: mbpo.model.weight_decay: expected 1 value or "
                                         "one per layer (mbpo.model.layers + 1 = 4), got 5"),
              std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(LoadRunConfig({mbpo}, {"mbpo.model.weight_decay=1e-4"}, nullptr));
}

TEST(Config, EveryShippedConfigLoads) {
  for (const auto& entry : std::filesystem::directory_iterator(MBRL_SOURCE_DIR "/configs")) {
    SCOPED_TRACE(entry.path().string());
    EXPECT_NO_THROW(LoadRunConfig({entry.path().string()}, {}, nullptr));
  }
}

}  // namespace
}  // namespace mbrl
