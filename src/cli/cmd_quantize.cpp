// `moss quantize IN.gguf OUT.gguf --type q8_0|q4_0|q4_k [--embd-type T] [--output-type T]`: re-stores
// the weight matrices of an f32 / f16 / bf16 model in a block-quantized type (norms and biases stay
// f32); the token embedding and the LM head may be given their own type. Refuses already-quantized
// input: quantizing twice compounds the errors.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "cli/command.h"
#include "cli/progress_line.h"
#include "formats/model_file.h"
#include "tensor/convert.h"
#include "tensor/dtype.h"
#include "util/error.h"

namespace moss::cli {
namespace {

struct QuantizeOptions {
  std::string input, output, type;
  std::string embd_type, output_type;  // empty: as --type
  bool quiet = false;
};

int run_quantize(const QuantizeOptions& o) {
  const DType type = dtype_from_name(o.type);
  if (!dtype_traits(type).quantized || !can_quantize(type))
    fail("--type ", o.type,
         " is not a quantized type this program can write (use q8_0, q4_0 or q4_k; `moss convert` "
         "writes f16/f32)");
  WeightTypes types;
  types.weights = type;
  // The embedding and LM head may also stay f16/f32 (any type write_gguf can store).
  if (!o.embd_type.empty()) types.embedding = dtype_from_name(o.embd_type);
  if (!o.output_type.empty()) types.output = dtype_from_name(o.output_type);
  if (o.input == o.output) fail("input and output are the same file: ", o.input);
  ModelFile model = open_model(o.input);
  for (const auto& t : model.tensors.all())
    if (t.shape.size() == 2 && dtype_traits(t.dtype).quantized)
      fail(o.input, " is already quantized (tensor ", t.name, " is ", dtype_name(t.dtype),
           "); quantize from the f16/f32 model instead");
  const auto start = std::chrono::steady_clock::now();
  ProgressLine line("", 64u << 20, o.quiet);
  write_gguf(o.output, model, types, [&](uint64_t done, uint64_t total) { line.update(done, total); });
  line.finish();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!o.quiet)
    std::fprintf(stderr, "moss quantize: wrote %s (%s) in %.1f s\n", o.output.c_str(), o.type.c_str(), s);
  return 0;
}

const CommandRegistration kRegister{
    "quantize", "store the weight matrices of a GGUF model as q8_0, q4_0 or q4_k", [](CLI::App& sub) {
      auto o = std::make_shared<QuantizeOptions>();
      sub.add_option("input", o->input, "f32/f16/bf16 model (.gguf or Hugging Face folder)")->required();
      sub.add_option("output", o->output, "output .gguf")->required();
      sub.add_option("--type", o->type, "q8_0, q4_0 or q4_k")->required();
      sub.add_option("--embd-type", o->embd_type,
                     "type of the token embedding (token_embd.weight): f32, f16, bf16, q8_0, q4_0 or q4_k; default: as --type");
      sub.add_option("--output-type", o->output_type,
                     "type of the LM head (output.weight): f32, f16, bf16, q8_0, q4_0 or q4_k; default: as --type");
      sub.add_flag("-q,--quiet", o->quiet, "no progress output");
      return std::function<int()>([o] { return run_quantize(*o); });
    }};

}  // namespace
}  // namespace moss::cli
