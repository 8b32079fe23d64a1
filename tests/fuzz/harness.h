#pragma once
/// Fuzz harnesses, shared by the libFuzzer targets (MBRL_FUZZ=ON, clang) and by the regression test
/// that replays the kept corpus and every past crash in the normal suite (tests/fuzz_test.cc).
/// A harness returns normally for any input; mbrl::Error (a clean rejection) is caught inside.
/// Anything else -- another exception, a crash, a sanitizer report, a broken invariant
/// (std::abort) -- is a bug.
#include <cstddef>
#include <cstdint>

namespace mbrl::fuzz {

/// "<config JSON>\n---\n<key.path=value per line>": the JSON is written as a config file (which
/// may name "base.json", a valid base config next to it) and loaded as a RunConfig with the
/// overrides; the resolved config must read back, also after a dump/parse round trip.
void ConfigInput(const uint8_t* data, size_t size);

/// The bytes drive a writer that builds a dataset file through the HDF5 API: a valid dataset when
/// the bytes are zeros, each field otherwise possibly missing, of another type or shape, or of an
/// extreme value; optionally the file's bytes are then truncated or overwritten. The file is then
/// opened the way runs and tools do (ReadInfo, ReadEpisode, LoadInto, reopening for append).
void DatasetInput(const uint8_t* data, size_t size);

}  // namespace mbrl::fuzz
