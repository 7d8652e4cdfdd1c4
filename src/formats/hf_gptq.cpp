// GPTQ QuantLinear tensors of a HF folder -> one canonical weight (spec §3.2 shapes, §3.3 packing).
// The shape checks here are against the config (so a wrong file is named with what was expected);
// import_gptq_linear then unpacks and re-checks its own invariants.
#include "formats/hf_gptq.h"

#include "formats/gptq.h"
#include "util/error.h"

namespace moss {

namespace {

std::string shape_str(const std::vector<int64_t>& s) {
  TensorView v;
  v.shape = s;
  return v.shape_str();
}

const TensorView& expect(const TensorSet& raw, const std::string& name, DType type, const std::vector<int64_t>& shape,
                         const std::string& source) {
  const TensorView* t = raw.find(name);
  if (!t)
    fail(source, ": missing GPTQ tensor ", name, " (expected ", dtype_name(type), " ", shape_str(shape),
         "; config.json has wbits, so every block Linear must be a QuantLinear)");
  if (t->dtype != type || t->shape != shape)
    fail(source, ": GPTQ tensor ", name, " is ", dtype_name(t->dtype), " ", t->shape_str(), ", expected ",
         dtype_name(type), " ", shape_str(shape));
  return *t;
}

}  // namespace

std::vector<std::string> hf_gptq_tensor_names(const std::string& hf) {
  return {hf + ".qweight", hf + ".qzeros", hf + ".scales", hf + ".g_idx"};
}

const TensorView& import_hf_gptq(const TensorSet& raw, const std::string& hf, int64_t N, int64_t K, const HfConfig& c,
                                 TensorSet& dst, const std::string& name, const std::string& source) {
  if (c.wbits != 4 && c.wbits != 8) fail(source, ": GPTQ wbits = ", c.wbits, " is not supported (4 or 8)");
  // GPTQ's groupsize -1 means one group over all inputs; 0 or below -1 means nothing.
  if (c.groupsize == 0 || c.groupsize < -1)
    fail(source, ": config field groupsize = ", c.groupsize, " is not valid for a GPTQ checkpoint (-1 or >= 1)");
  const int64_t p = 32 / c.wbits;
  if (K % p != 0 || N % p != 0)
    fail(source, ": ", hf, " has ", K, " inputs and ", N, " outputs; GPTQ packing with wbits ", c.wbits,
         " needs both to be multiples of ", p);
  const int64_t G = c.groupsize == -1 ? 1 : (K + c.groupsize - 1) / c.groupsize;
  GptqLinear in;
  in.bits = c.wbits;
  in.qweight = &expect(raw, hf + ".qweight", DType::I32, {K / p, N}, source);
  in.qzeros = &expect(raw, hf + ".qzeros", DType::I32, {G, N / p}, source);
  in.scales = &expect(raw, hf + ".scales", DType::F16, {G, N}, source);
  in.g_idx = &expect(raw, hf + ".g_idx", DType::I32, {K}, source);
  // g_idx is applied as stored (spec §9 item 8); Auto picks q8_0 only where that is exact.
  try {
    return import_gptq_linear(in, dst, name, GptqTarget::Auto);
  } catch (const Error& e) {
    fail(source, ": ", hf, ": ", e.what());
  }
}

}  // namespace moss
