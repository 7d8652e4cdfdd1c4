// Metadata: an ordered list of GGUF key/value pairs with typed getters that name the key on error.
#include "formats/metadata.h"

#include "util/error.h"

namespace moss {

namespace {
bool is_int_type(MetaType t) {
  switch (t) {
    case MetaType::U8: case MetaType::I8: case MetaType::U16: case MetaType::I16:
    case MetaType::U32: case MetaType::I32: case MetaType::U64: case MetaType::I64:
    case MetaType::BOOL:
      return true;
    default:
      return false;
  }
}
const char* type_name(MetaType t) {
  switch (t) {
    case MetaType::U8: return "u8";
    case MetaType::I8: return "i8";
    case MetaType::U16: return "u16";
    case MetaType::I16: return "i16";
    case MetaType::U32: return "u32";
    case MetaType::I32: return "i32";
    case MetaType::F32: return "f32";
    case MetaType::BOOL: return "bool";
    case MetaType::STRING: return "string";
    case MetaType::ARRAY: return "array";
    case MetaType::U64: return "u64";
    case MetaType::I64: return "i64";
    case MetaType::F64: return "f64";
  }
  return "?";
}
}  // namespace

MetaValue MetaValue::u32(uint32_t v) {
  MetaValue m;
  m.type = MetaType::U32;
  m.i = v;
  return m;
}
MetaValue MetaValue::i32(int32_t v) {
  MetaValue m;
  m.type = MetaType::I32;
  m.i = v;
  return m;
}
MetaValue MetaValue::u64(uint64_t v) {
  MetaValue m;
  m.type = MetaType::U64;
  m.i = static_cast<int64_t>(v);  // bit pattern kept; values > INT64_MAX read back negative
  return m;
}
MetaValue MetaValue::f32(float v) {
  MetaValue m;
  m.type = MetaType::F32;
  m.f = v;
  return m;
}
MetaValue MetaValue::boolean(bool v) {
  MetaValue m;
  m.type = MetaType::BOOL;
  m.i = v ? 1 : 0;
  return m;
}
MetaValue MetaValue::str(std::string v) {
  MetaValue m;
  m.type = MetaType::STRING;
  m.s = std::move(v);
  return m;
}
MetaValue MetaValue::str_array(const std::vector<std::string>& v) {
  MetaValue m;
  m.type = MetaType::ARRAY;
  m.elem_type = MetaType::STRING;
  m.array.reserve(v.size());
  for (const auto& s : v) m.array.push_back(str(s));
  return m;
}
MetaValue MetaValue::i32_array(const std::vector<int32_t>& v) {
  MetaValue m;
  m.type = MetaType::ARRAY;
  m.elem_type = MetaType::I32;
  m.array.reserve(v.size());
  for (int32_t x : v) m.array.push_back(i32(x));
  return m;
}
MetaValue MetaValue::f32_array(const std::vector<float>& v) {
  MetaValue m;
  m.type = MetaType::ARRAY;
  m.elem_type = MetaType::F32;
  m.array.reserve(v.size());
  for (float x : v) m.array.push_back(f32(x));
  return m;
}

void Metadata::set(const std::string& key, MetaValue v) {
  for (auto& e : entries_) {
    if (e.first == key) {
      e.second = std::move(v);
      return;
    }
  }
  entries_.emplace_back(key, std::move(v));
}

const MetaValue* Metadata::find(const std::string& key) const {
  for (const auto& e : entries_)
    if (e.first == key) return &e.second;
  return nullptr;
}

int64_t Metadata::get_int(const std::string& key) const {
  const MetaValue* v = find(key);
  if (!v) fail("metadata key ", key, " is missing");
  if (!is_int_type(v->type)) fail("metadata key ", key, " is a ", type_name(v->type), ", expected an integer");
  return v->i;
}
int64_t Metadata::get_int(const std::string& key, int64_t fallback) const {
  return has(key) ? get_int(key) : fallback;
}

double Metadata::get_float(const std::string& key) const {
  const MetaValue* v = find(key);
  if (!v) fail("metadata key ", key, " is missing");
  if (v->type == MetaType::F32 || v->type == MetaType::F64) return v->f;
  if (is_int_type(v->type)) return static_cast<double>(v->i);
  fail("metadata key ", key, " is a ", type_name(v->type), ", expected a number");
}
double Metadata::get_float(const std::string& key, double fallback) const {
  return has(key) ? get_float(key) : fallback;
}

const std::string& Metadata::get_string(const std::string& key) const {
  const MetaValue* v = find(key);
  if (!v) fail("metadata key ", key, " is missing");
  if (v->type != MetaType::STRING) fail("metadata key ", key, " is a ", type_name(v->type), ", expected a string");
  return v->s;
}
std::string Metadata::get_string(const std::string& key, const std::string& fallback) const {
  return has(key) ? get_string(key) : fallback;
}

std::vector<std::string> Metadata::get_string_array(const std::string& key) const {
  const MetaValue* v = find(key);
  if (!v) fail("metadata key ", key, " is missing");
  if (v->type != MetaType::ARRAY || v->elem_type != MetaType::STRING)
    fail("metadata key ", key, " is not an array of strings");
  std::vector<std::string> out;
  out.reserve(v->array.size());
  for (const auto& e : v->array) out.push_back(e.s);
  return out;
}

std::vector<int64_t> Metadata::get_int_array(const std::string& key) const {
  const MetaValue* v = find(key);
  if (!v) fail("metadata key ", key, " is missing");
  if (v->type != MetaType::ARRAY || !is_int_type(v->elem_type))
    fail("metadata key ", key, " is not an array of integers");
  std::vector<int64_t> out;
  out.reserve(v->array.size());
  for (const auto& e : v->array) out.push_back(e.i);
  return out;
}

}  // namespace moss
