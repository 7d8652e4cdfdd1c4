// Restricted unpickler (see pickle.h). Objects live in an arena owned by the interpreter and refer
// to each other by raw pointer, so a hostile pickle can build cycles or deep nests without leaking
// or overflowing the stack on destruction; nothing is ever traversed recursively.
#include "formats/pickle.h"

#include <bit>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "util/error.h"

namespace moss {

namespace {

enum class Kind { None, Bool, Int, Float, Str, Tuple, List, Dict, Global, Storage, Tensor };

struct Obj {
  Kind kind = Kind::None;
  int64_t i = 0;
  double f = 0;
  std::string s;                           // Str; Global: "module.name"
  std::vector<Obj*> items;                 // Tuple, List; Dict: key, value, key, value, ...
  // Global
  enum class Fn { OrderedDict, RebuildTensor, StorageClass } fn = Fn::OrderedDict;
  DType dtype = DType::F32;                // StorageClass globals and Storage objects
  // Storage
  std::string key;
  // Tensor
  PickledTensor tensor;
};

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::Str: return "str";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global";
    case Kind::Storage: return "storage";
    case Kind::Tensor: return "tensor";
  }
  return "?";
}

// The only globals a state dict may name.
bool storage_dtype(const std::string& module, const std::string& name, DType& out) {
  if (module != "torch") return false;
  static const std::pair<const char*, DType> kStorages[] = {
      {"HalfStorage", DType::F16},  {"FloatStorage", DType::F32}, {"BFloat16Storage", DType::BF16},
      {"DoubleStorage", DType::F64}, {"LongStorage", DType::I64}, {"IntStorage", DType::I32},
      {"ShortStorage", DType::I16}, {"CharStorage", DType::I8},   {"ByteStorage", DType::U8},
      {"BoolStorage", DType::BOOL},
  };
  for (const auto& [n, t] : kStorages)
    if (name == n) {
      out = t;
      return true;
    }
  return false;
}

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, const std::string& source) : p_(data), size_(size), source_(source) {}

  Obj* run() {
    for (;;) {
      const size_t at = pos_;
      const uint8_t op = u8();
      switch (op) {
        case 0x80: {  // PROTO
          const uint8_t v = u8();
          if (v > 5) error(at, "unknown pickle protocol ", static_cast<int>(v));
          break;
        }
        case '(': marks_.push_back(stack_.size()); break;  // MARK
        case '.': {  // STOP
          if (stack_.size() != 1 || !marks_.empty()) error(at, "STOP with ", stack_.size(), " objects on the stack");
          return stack_.back();
        }
        case '}': push(make(Kind::Dict)); break;   // EMPTY_DICT
        case ']': push(make(Kind::List)); break;   // EMPTY_LIST
        case ')': push(make(Kind::Tuple)); break;  // EMPTY_TUPLE
        case 't': {  // TUPLE
          Obj* t = make(Kind::Tuple);
          t->items = pop_mark(at);
          push(t);
          break;
        }
        case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
          const size_t n = op - 0x84u;
          need_stack(at, n);
          Obj* t = make(Kind::Tuple);
          t->items.assign(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
          stack_.resize(stack_.size() - n);
          push(t);
          break;
        }
        case 'X': {  // BINUNICODE
          const uint32_t n = u32();
          Obj* s = make(Kind::Str);
          s->s = bytes(n, "string");
          push(s);
          break;
        }
        case 'J': push_int(static_cast<int32_t>(u32())); break;  // BININT
        case 'K': push_int(u8()); break;                          // BININT1
        case 'M': push_int(u16()); break;                         // BININT2
        case 0x8a: {  // LONG1: little-endian two's complement of n bytes
          const uint8_t n = u8();
          if (n > 8) error(at, "integer of ", static_cast<int>(n), " bytes is too large");
          const std::string b = bytes(n, "integer");
          uint64_t v = 0;
          for (int k = n - 1; k >= 0; --k) v = (v << 8) | static_cast<uint8_t>(b[static_cast<size_t>(k)]);
          if (n > 0 && n < 8 && (static_cast<uint8_t>(b[n - 1]) & 0x80)) v |= ~uint64_t{0} << (8 * n);  // sign-extend
          push_int(static_cast<int64_t>(v));
          break;
        }
        case 'G': {  // BINFLOAT: big-endian double
          const std::string b = bytes(8, "float");
          uint64_t v = 0;
          for (int k = 0; k < 8; ++k) v = (v << 8) | static_cast<uint8_t>(b[static_cast<size_t>(k)]);
          Obj* o = make(Kind::Float);
          o->f = std::bit_cast<double>(v);
          push(o);
          break;
        }
        case 0x89: case 0x88: {  // NEWFALSE, NEWTRUE
          Obj* o = make(Kind::Bool);
          o->i = op == 0x88;
          push(o);
          break;
        }
        case 'N': push(make(Kind::None)); break;
        case 'q': memo_put(at, u8()); break;    // BINPUT
        case 'r': memo_put(at, u32()); break;   // LONG_BINPUT
        case 'h': memo_get(at, u8()); break;    // BINGET
        case 'j': memo_get(at, u32()); break;   // LONG_BINGET
        case 'c': global(at); break;
        case 'R': reduce(at); break;
        case 'Q': persistent_id(at); break;     // BINPERSID
        case 's': {  // SETITEM
          need_stack(at, 3);
          Obj* d = stack_[stack_.size() - 3];
          if (d->kind != Kind::Dict) error(at, "SETITEM on a ", kind_name(d->kind));
          d->items.push_back(stack_[stack_.size() - 2]);
          d->items.push_back(stack_.back());
          stack_.resize(stack_.size() - 2);
          break;
        }
        case 'u': {  // SETITEMS
          std::vector<Obj*> kv = pop_mark(at);
          if (kv.size() % 2) error(at, "SETITEMS with an odd number of objects");
          need_stack(at, 1);
          Obj* d = stack_.back();
          if (d->kind != Kind::Dict) error(at, "SETITEMS on a ", kind_name(d->kind));
          d->items.insert(d->items.end(), kv.begin(), kv.end());
          break;
        }
        case 'a': {  // APPEND
          need_stack(at, 2);
          Obj* l = stack_[stack_.size() - 2];
          if (l->kind != Kind::List) error(at, "APPEND on a ", kind_name(l->kind));
          l->items.push_back(stack_.back());
          stack_.pop_back();
          break;
        }
        case 'e': {  // APPENDS
          std::vector<Obj*> xs = pop_mark(at);
          need_stack(at, 1);
          Obj* l = stack_.back();
          if (l->kind != Kind::List) error(at, "APPENDS on a ", kind_name(l->kind));
          l->items.insert(l->items.end(), xs.begin(), xs.end());
          break;
        }
        case 'b': {  // BUILD
          // Not in the minimal list, but module.state_dict() is an OrderedDict carrying a
          // `_metadata` attribute, which pickle restores with BUILD. The state is only version
          // bookkeeping, so it is dropped; BUILD on anything but a dict is refused.
          need_stack(at, 2);
          Obj* target = stack_[stack_.size() - 2];
          if (target->kind != Kind::Dict) error(at, "BUILD on a ", kind_name(target->kind));
          stack_.pop_back();
          break;
        }
        default:
          error(at, "unsupported pickle opcode 0x", hex(op), " (not used by PyTorch state dicts)");
      }
    }
  }

 private:
  template <typename... Parts>
  [[noreturn]] void error(size_t at, const Parts&... parts) const {
    fail(source_, ": data.pkl byte ", at, ": ", parts...);
  }
  static std::string hex(uint8_t b) {
    const char* d = "0123456789abcdef";
    return {d[b >> 4], d[b & 15]};
  }

  uint8_t u8() {
    if (pos_ >= size_) error(pos_, "pickle ends without STOP");
    return p_[pos_++];
  }
  uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
  uint32_t u32() {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v |= static_cast<uint32_t>(u8()) << (8 * k);
    return v;
  }
  std::string bytes(uint64_t n, const char* what) {
    if (n > size_ - pos_) error(pos_, "pickle truncated inside a ", what, " of ", n, " bytes");
    std::string s(reinterpret_cast<const char*>(p_ + pos_), static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }
  std::string line(const char* what) {
    const size_t start = pos_;
    while (pos_ < size_ && p_[pos_] != '\n') {
      if (pos_ - start > 256) error(start, what, " longer than 256 bytes");
      ++pos_;
    }
    if (pos_ >= size_) error(start, "pickle truncated inside a ", what);
    std::string s(reinterpret_cast<const char*>(p_ + start), pos_ - start);
    ++pos_;
    return s;
  }

  Obj* make(Kind k) {
    // A state dict of a few thousand tensors needs tens of thousands of objects; the cap keeps a
    // hostile pickle from using gigabytes of memory.
    if (arena_.size() >= (1u << 22)) error(pos_, "pickle creates too many objects");
    arena_.push_back(std::make_unique<Obj>());
    arena_.back()->kind = k;
    return arena_.back().get();
  }
  void push(Obj* o) { stack_.push_back(o); }
  void push_int(int64_t v) {
    Obj* o = make(Kind::Int);
    o->i = v;
    push(o);
  }
  void need_stack(size_t at, size_t n) const {
    const size_t floor = marks_.empty() ? 0 : marks_.back();
    if (stack_.size() < floor + n) error(at, "stack underflow");
  }
  Obj* pop(size_t at) {
    need_stack(at, 1);
    Obj* o = stack_.back();
    stack_.pop_back();
    return o;
  }
  std::vector<Obj*> pop_mark(size_t at) {
    if (marks_.empty()) error(at, "no MARK on the stack");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Obj*> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  void memo_put(size_t at, uint32_t idx) {
    need_stack(at, 1);
    memo_[idx] = stack_.back();
  }
  void memo_get(size_t at, uint32_t idx) {
    auto it = memo_.find(idx);
    if (it == memo_.end()) error(at, "memo entry ", idx, " was never stored");
    push(it->second);
  }

  void global(size_t at) {
    const std::string module = line("module name");
    const std::string name = line("global name");
    Obj* g = make(Kind::Global);
    g->s = module + "." + name;
    if (module == "collections" && name == "OrderedDict") {
      g->fn = Obj::Fn::OrderedDict;
    } else if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
      g->fn = Obj::Fn::RebuildTensor;
    } else if (storage_dtype(module, name, g->dtype)) {
      g->fn = Obj::Fn::StorageClass;
    } else {
      error(at, "forbidden global ", g->s, " (a tensor checkpoint only names OrderedDict, _rebuild_tensor_v2 and storage classes)");
    }
    push(g);
  }

  static bool is_int(const Obj* o) { return o->kind == Kind::Int; }

  std::vector<int64_t> int_tuple(size_t at, const Obj* o, const char* what) const {
    if (o->kind != Kind::Tuple) error(at, what, " is a ", kind_name(o->kind), ", expected a tuple of ints");
    if (o->items.size() > 8) error(at, what, " has ", o->items.size(), " dimensions");
    std::vector<int64_t> v;
    for (const Obj* e : o->items) {
      if (!is_int(e)) error(at, what, " contains a ", kind_name(e->kind));
      v.push_back(e->i);
    }
    return v;
  }

  void reduce(size_t at) {
    Obj* args = pop(at);
    Obj* fn = pop(at);
    if (fn->kind != Kind::Global) error(at, "REDUCE calls a ", kind_name(fn->kind), ", not an allowed global");
    if (args->kind != Kind::Tuple) error(at, "REDUCE arguments are a ", kind_name(args->kind), ", not a tuple");
    switch (fn->fn) {
      case Obj::Fn::OrderedDict:
        if (!args->items.empty()) error(at, "OrderedDict called with arguments");
        push(make(Kind::Dict));
        return;
      case Obj::Fn::RebuildTensor: {
        // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        if (args->items.size() != 6 && args->items.size() != 7)
          error(at, "_rebuild_tensor_v2 called with ", args->items.size(), " arguments (expected 6)");
        const Obj* storage = args->items[0];
        if (storage->kind != Kind::Storage) error(at, "_rebuild_tensor_v2 argument 1 is a ", kind_name(storage->kind), ", not a storage");
        if (!is_int(args->items[1])) error(at, "_rebuild_tensor_v2 storage offset is not an int");
        Obj* t = make(Kind::Tensor);
        t->tensor.storage_key = storage->key;
        t->tensor.dtype = storage->dtype;
        t->tensor.storage_numel = storage->i;
        t->tensor.offset = args->items[1]->i;
        t->tensor.shape = int_tuple(at, args->items[2], "tensor size");
        t->tensor.stride = int_tuple(at, args->items[3], "tensor stride");
        if (t->tensor.shape.size() != t->tensor.stride.size())
          error(at, "tensor size has ", t->tensor.shape.size(), " dims but stride has ", t->tensor.stride.size());
        push(t);
        return;
      }
      case Obj::Fn::StorageClass:
        error(at, "storage class ", fn->s, " called directly");
    }
  }

  void persistent_id(size_t at) {
    // ('storage', StorageClass, key, location, numel)
    Obj* pid = pop(at);
    if (pid->kind != Kind::Tuple || pid->items.size() != 5) error(at, "persistent id is not a 5-tuple ('storage', class, key, location, numel)");
    const auto& it = pid->items;
    if (it[0]->kind != Kind::Str || it[0]->s != "storage") error(at, "persistent id does not start with 'storage'");
    if (it[1]->kind != Kind::Global || it[1]->fn != Obj::Fn::StorageClass) error(at, "persistent id names no storage class");
    if (it[2]->kind != Kind::Str) error(at, "storage key is not a string");
    if (!is_int(it[4]) || it[4]->i < 0) error(at, "storage size is not a non-negative int");
    Obj* s = make(Kind::Storage);
    s->dtype = it[1]->dtype;
    s->key = it[2]->s;
    s->i = it[4]->i;
    push(s);
  }

  const uint8_t* p_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& source_;
  std::vector<std::unique_ptr<Obj>> arena_;
  std::vector<Obj*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint32_t, Obj*> memo_;
};

}  // namespace

std::vector<PickledTensor> unpickle_state_dict(const uint8_t* data, size_t size, const std::string& source) {
  Unpickler u(data, size, source);
  const Obj* root = u.run();
  if (root->kind != Kind::Dict) fail(source, ": data.pkl holds a ", kind_name(root->kind), ", not a state dict");
  std::vector<PickledTensor> out;
  for (size_t k = 0; k + 1 < root->items.size(); k += 2) {
    const Obj* key = root->items[k];
    const Obj* value = root->items[k + 1];
    if (key->kind != Kind::Str) fail(source, ": state dict key is a ", kind_name(key->kind), ", not a string");
    if (value->kind != Kind::Tensor) fail(source, ": state dict entry ", key->s, " is a ", kind_name(value->kind), ", not a tensor");
    PickledTensor t = value->tensor;
    t.name = key->s;
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace moss
