// Table of dtype traits (block sizes and byte sizes from ggml-common.h).
#include "tensor/dtype.h"

#include "util/error.h"

namespace moss {

namespace {
struct Entry {
  DType type;
  DTypeTraits traits;
};
constexpr Entry kTable[] = {
    {DType::F32, {"f32", 1, 4, false}},       {DType::F16, {"f16", 1, 2, false}},
    {DType::BF16, {"bf16", 1, 2, false}},     {DType::F64, {"f64", 1, 8, false}},
    {DType::I8, {"i8", 1, 1, false}},         {DType::I16, {"i16", 1, 2, false}},
    {DType::I32, {"i32", 1, 4, false}},       {DType::I64, {"i64", 1, 8, false}},
    {DType::U8, {"u8", 1, 1, false}},         {DType::BOOL, {"bool", 1, 1, false}},
    {DType::Q4_0, {"q4_0", 32, 18, true}},    {DType::Q4_1, {"q4_1", 32, 20, true}},
    {DType::Q5_0, {"q5_0", 32, 22, true}},    {DType::Q5_1, {"q5_1", 32, 24, true}},
    {DType::Q8_0, {"q8_0", 32, 34, true}},    {DType::Q8_1, {"q8_1", 32, 36, true}},
    {DType::Q2_K, {"q2_k", 256, 84, true}},   {DType::Q3_K, {"q3_k", 256, 110, true}},
    {DType::Q4_K, {"q4_k", 256, 144, true}},  {DType::Q5_K, {"q5_k", 256, 176, true}},
    {DType::Q6_K, {"q6_k", 256, 210, true}},  {DType::Q8_K, {"q8_k", 256, 292, true}},
};
}  // namespace

bool dtype_known(uint32_t id) {
  for (const auto& e : kTable)
    if (static_cast<uint32_t>(e.type) == id) return true;
  return false;
}

const DTypeTraits& dtype_traits(DType t) {
  for (const auto& e : kTable)
    if (e.type == t) return e.traits;
  fail("unknown tensor type id ", static_cast<uint32_t>(t));
}

DType dtype_from_name(const std::string& name) {
  std::string accepted;
  for (const auto& e : kTable) {
    if (name == e.traits.name) return e.type;
    accepted += accepted.empty() ? "" : ", ";
    accepted += e.traits.name;
  }
  fail("unknown type '", name, "' (known: ", accepted, ")");
}

size_t row_bytes(DType t, int64_t n) {
  const auto& tr = dtype_traits(t);
  if (n < 0 || n % tr.block_size != 0)
    fail("a row of ", n, " elements is not a multiple of the ", tr.name, " block size ", tr.block_size);
  return static_cast<size_t>(n / tr.block_size) * tr.block_bytes;
}

}  // namespace moss
