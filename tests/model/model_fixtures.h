// Access to tests/fixtures/models (written by tools/make_model_fixtures.py): the manifest, the
// expected logits, and the comparison helper shared by the model tests.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace moss::testing {

inline std::string model_fixture_dir() { return std::string(MOSS_FIXTURE_DIR) + "/models"; }

inline const nlohmann::json& model_manifest() {
  static const nlohmann::json m = [] {
    std::ifstream f(model_fixture_dir() + "/manifest.json");
    if (!f) throw std::runtime_error("cannot open " + model_fixture_dir() + "/manifest.json");
    return nlohmann::json::parse(f);
  }();
  return m;
}

inline std::vector<float> read_f32(const std::string& rel) {
  std::ifstream f(model_fixture_dir() + "/" + rel, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open fixture " + rel);
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);  // fixtures are little-endian, like the hosts we build on
  return v;
}

inline std::vector<int32_t> ids_of(const nlohmann::json& j) { return j.get<std::vector<int32_t>>(); }

inline double max_abs_diff(std::span<const float> a, std::span<const float> b) {
  if (a.size() != b.size()) return INFINITY;
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(double(a[i]) - double(b[i]));
    if (!(d <= m)) m = d;  // NaN propagates as a failure
  }
  return m;
}

// Tolerance for our float32 engine against the float64 reference on the fixture models.
// Derivation: the fixtures have K <= 128 inner products (E <= 64, F <= 128) with terms of size
// O(1) after each LayerNorm, so each float32 Linear output carries at most K * u * sum|x||w| <=
// 128 * 6e-8 * ~10 ~= 8e-5 in the worst case and ~sqrt(K) * u * sum ~= 1e-5 typically; two blocks
// plus ln_f (gain <= ~1/sigma with sigma ~ 1) keep the logits (|logit| <= 5) within 1e-4. The
// float32 torch reference itself differs from float64 by <= 1.7e-6 on these fixtures
// (manifest: f32_reference_max_abs_diff). Any real bug (qkv order, rotary pairs, a missing bias)
// moves logits by O(0.1..1).
inline constexpr double kLogitTol = 1e-4;

}  // namespace moss::testing
