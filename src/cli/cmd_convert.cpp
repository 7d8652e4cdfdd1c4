// `moss convert`: Hugging Face folder (or GGUF) -> GGUF, with the weight matrices stored as the
// chosen type. Progress goes to stderr so stdout stays clean for scripts.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "cli/command.h"
#include "cli/progress_line.h"
#include "formats/model_file.h"
#include "tensor/dtype.h"

namespace moss::cli {
namespace {

struct ConvertOptions {
  std::string input;
  std::string output;
  std::string type = "f16";
  std::string embd_type, output_type;  // empty: as --type
  bool quiet = false;
};

int run_convert(const ConvertOptions& o) {
  // "keep": every weight matrix keeps its stored type (lossless; GPTQ folders: exact q8_0 + fp16).
  const bool keep = o.type == "keep";
  WeightTypes types;
  types.weights = keep ? DType::F16 : dtype_from_name(o.type);
  if (!o.embd_type.empty()) types.embedding = dtype_from_name(o.embd_type);
  if (!o.output_type.empty()) types.output = dtype_from_name(o.output_type);
  ModelFile model = open_model(o.input);
  uint64_t total_in = 0;
  for (const auto& t : model.tensors.all()) total_in += t.nbytes;
  std::fprintf(stderr, "moss convert: %s: %zu tensors, %.1f MB -> %s (%s weights)\n", o.input.c_str(), model.tensors.size(),
               static_cast<double>(total_in) / 1e6, o.output.c_str(), o.type.c_str());
  // Only for files where waiting is noticeable.
  ProgressLine line("", 64u << 20, o.quiet);
  write_gguf(o.output, model, types, [&](uint64_t done, uint64_t total) { line.update(done, total); }, keep);
  line.finish();
  std::fprintf(stderr, "moss convert: wrote %s\n", o.output.c_str());
  return 0;
}

const CommandRegistration kRegistration{
    "convert", "convert a Hugging Face MOSS folder (or a GGUF file) to GGUF", [](CLI::App& sub) {
      auto o = std::make_shared<ConvertOptions>();
      sub.add_option("input", o->input, "Hugging Face model folder or .gguf file")->required();
      sub.add_option("-o,--output", o->output, "output .gguf file")->required();
      sub.add_option("--type", o->type,
                     "type of the weight matrices: f32, f16, bf16, a quantized type (q8_0, q4_0, q4_k, ...) or keep "
                     "(each as stored, e.g. a GPTQ folder's exact q8_0 + fp16); "
                     "norms and biases stay f32")
          ->capture_default_str();
      sub.add_option("--embd-type", o->embd_type, "type of the token embedding (token_embd.weight); default: as --type");
      sub.add_option("--output-type", o->output_type, "type of the LM head (output.weight); default: as --type");
      sub.add_flag("-q,--quiet", o->quiet, "no progress line");
      return [o] { return run_convert(*o); };
    }};

}  // namespace
}  // namespace moss::cli
