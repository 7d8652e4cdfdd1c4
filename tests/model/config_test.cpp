// MossConfig: reading the metadata keys and rejecting inconsistent configurations.
#include "model/config.h"

#include <gtest/gtest.h>

#include "formats/metadata.h"
#include "util/error.h"

namespace moss {
namespace {

Metadata base_meta() {
  Metadata m;
  m.set(keys::kArchitecture, MetaValue::str("moss"));
  m.set(keys::kVocabSize, MetaValue::u32(107008));
  m.set(keys::kContextLength, MetaValue::u32(2048));
  m.set(keys::kEmbeddingLength, MetaValue::u32(6144));
  m.set(keys::kBlockCount, MetaValue::u32(34));
  m.set(keys::kHeadCount, MetaValue::u32(24));
  m.set(keys::kRopeDims, MetaValue::u32(64));
  m.set(keys::kLayerNormEps, MetaValue::f32(1e-5f));
  m.set(keys::kTokBos, MetaValue::u32(106028));
  m.set(keys::kTokEos, MetaValue::u32(106068));
  return m;
}

TEST(MossConfig, ReadsTheReleasedCheckpointShape) {
  const MossConfig c = MossConfig::from_metadata(base_meta());
  EXPECT_EQ(c.n_vocab, 107008);
  EXPECT_EQ(c.n_ctx, 2048);
  EXPECT_EQ(c.n_embd, 6144);
  EXPECT_EQ(c.n_layer, 34);
  EXPECT_EQ(c.n_head, 24);
  EXPECT_EQ(c.head_dim, 256);
  EXPECT_EQ(c.rotary_dim, 64);
  EXPECT_EQ(c.n_inner, 4 * 6144);  // n_inner null -> 4 E
  EXPECT_FLOAT_EQ(c.eps, 1e-5f);
  EXPECT_EQ(c.rope_variant, RopeVariant::kFp32);
  EXPECT_EQ(c.bos_id, 106028);
  EXPECT_EQ(c.eos_id, 106068);
}

TEST(MossConfig, ReadsVariantAndInner) {
  Metadata m = base_meta();
  m.set(keys::kRopeInvFreqVariant, MetaValue::str("fp16"));
  m.set(keys::kFeedForwardLength, MetaValue::u32(1000));
  const MossConfig c = MossConfig::from_metadata(m);
  EXPECT_EQ(c.rope_variant, RopeVariant::kFp16);
  EXPECT_EQ(c.n_inner, 1000);
}

void expect_error(Metadata m, const char* key, MetaValue v, const std::string& needle) {
  m.set(key, std::move(v));
  try {
    MossConfig::from_metadata(m);
    ADD_FAILURE() << "accepted " << key;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(MossConfig, RejectsBadShapes) {
  expect_error(base_meta(), keys::kHeadCount, MetaValue::u32(25), "multiple of n_head");
  expect_error(base_meta(), keys::kRopeDims, MetaValue::u32(63), "rotary_dim");
  expect_error(base_meta(), keys::kRopeDims, MetaValue::u32(258), "rotary_dim");
  expect_error(base_meta(), keys::kRopeDims, MetaValue::u32(0), "rotary_dim");
  expect_error(base_meta(), keys::kEmbeddingLength, MetaValue::u32(0), "n_embd");
  expect_error(base_meta(), keys::kBlockCount, MetaValue::u32(1u << 30), "n_layer");
  expect_error(base_meta(), keys::kContextLength, MetaValue::u32(0), "context length");
  expect_error(base_meta(), keys::kLayerNormEps, MetaValue::f32(-1.0f), "epsilon");
  expect_error(base_meta(), keys::kRopeInvFreqVariant, MetaValue::str("bf16"), "inv_freq");
  expect_error(base_meta(), keys::kTokEos, MetaValue::u32(107008), "eos");
}

TEST(MossConfig, MissingKeyIsAnError) {
  Metadata m;
  m.set(keys::kVocabSize, MetaValue::u32(10));
  EXPECT_THROW(MossConfig::from_metadata(m), Error);
}

}  // namespace
}  // namespace moss
