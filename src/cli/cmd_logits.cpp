// `moss logits`: runs token ids through the model in one prefill and writes the logits of every
// position as float32 little-endian, row-major [n_ids, n_vocab] (n_vocab = the model's LM-head
// rows). The numerical test interface of the forward pass.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>

#include "cli/command.h"
#include "cli/common.h"
#include "model/model.h"
#include "util/error.h"

namespace moss::cli {
namespace {

struct LogitsArgs {
  ModelOptions model;
  std::string ids;
  std::string out;
};

int run_logits(const LogitsArgs& a) {
  const std::vector<int32_t> ids = parse_id_list(a.ids);
  if (ids.empty()) fail("--ids: no token ids given");
  auto model = Model::load(a.model.model, a.model.threads);
  const int64_t n_ctx = model->config().n_ctx;
  if (static_cast<int64_t>(ids.size()) > n_ctx) fail(ids.size(), " ids do not fit the context length ", n_ctx);
  // A cache just big enough for the ids (the full context of the real model would be 3.4 GB).
  KvCache cache = model->new_cache(static_cast<int64_t>(ids.size()));
  const std::vector<float> logits = model->forward(cache, ids, /*all_logits=*/true);
  std::ofstream f(a.out, std::ios::binary | std::ios::trunc);
  if (!f) fail("cannot write ", a.out);
  // Hosts we build for are little-endian, so the float bytes are written as they are.
  f.write(reinterpret_cast<const char*>(logits.data()), static_cast<std::streamsize>(logits.size() * sizeof(float)));
  if (!f.flush()) fail("error writing ", a.out);
  return 0;
}

const CommandRegistration reg(
    "logits", "write the logits of every position of --ids as float32 [n_ids, n_vocab]", [](CLI::App& sub) {
      auto a = std::make_shared<LogitsArgs>();
      a->model.add_to(sub);
      sub.add_option("--ids", a->ids, "comma-separated token ids")->required();
      sub.add_option("--out", a->out, "output file (float32 little-endian, row-major [n_ids, n_vocab])")->required();
      return [a] { return run_logits(*a); };
    });

}  // namespace
}  // namespace moss::cli
