//===- QKAbi.td - ABI rows of group steps ------------------*- tablegen -*-===//
//
// How a group step attribute crosses into the runtime. A step that the
// runtime executes describes, next to its ODS parameters, two layouts of the
// C ABI (include/qk/Runtime/QKNormRuntime.h):
//   - the C struct of the plain C entry points (qk_norm_range_t, qk_rope_t),
//   - the row of 64-bit words that compiled code stores into a memref and
//     passes to the `_mlir_ciface_` entry points (qk_ciface_range_t,
//     qk_ciface_rope_t).
// `qk-tblgen` (tools/qk-tblgen) derives from these annotations the C
// declarations of both, the lowering's encoder of the row, the runtime's
// row -> struct decoder and the Python ctypes field lists, so that a new
// field is one ODS parameter plus one word and one member here.
//
//===----------------------------------------------------------------------===//

#ifndef QK_DIALECT_QK_IR_QKABI_TD
#define QK_DIALECT_QK_IR_QKABI_TD

//===----------------------------------------------------------------------===//
// Types of a value in the ABI
//===----------------------------------------------------------------------===//

// The C type of a struct member, its ctypes mirror, and (implied by the
// def) how its word is checked and converted. Every row word is an int64_t
// (a pointer word is a `const void *`); the type says what it holds.
class QK_AbiType<string c, string py> {
  string cType = c;
  string pyType = py;
}

// The value itself: word == member.
def QK_AbiI64 : QK_AbiType<"int64_t", "ctypes.c_int64">;
// A 0/1 flag, an int32_t member: the word must fit 32 bits (the C entry
// point checks 0 or 1). In the lowering: a bool parameter as 0/1.
def QK_AbiFlag : QK_AbiType<"int32_t", "ctypes.c_int32">;
// An f32, a float member: the word holds its bit pattern in bits 0..31
// (no endianness-dependent packing). In the lowering: an APFloat parameter.
def QK_AbiF32 : QK_AbiType<"float", "ctypes.c_float">;
// A bit set that must fit 32 bits (rope rotated_ranges).
def QK_AbiU32 : QK_AbiType<"uint32_t", "ctypes.c_uint32">;
// An address: a view's aligned pointer in a row, a pointer member of a
// struct. Never checked or converted by generated code (the views are
// decoded by hand: their checks depend on the other views).
def QK_AbiPtr : QK_AbiType<"const void *", "ctypes.c_void_p">;

// A code of a table of include/qk/Runtime/Codes.def: the member has the C
// enum type, the word is checked with the runtime's `isValid` predicate
// (runtime/common/Validate.h), and the lowering encodes an ODS enum
// parameter with `odsEncoder` (lib/Conversion/LowerToKernelCall.cpp, tied
// to the table by static_asserts).
class QK_AbiCode<string cEnum, string valid, string encoder = "">
    : QK_AbiType<cEnum, "ctypes.c_int"> {
  string isValid = valid;
  string odsEncoder = encoder;
}

def QK_AbiDtype : QK_AbiCode<"qk_dtype_t", "isDtype">;
def QK_AbiIndex : QK_AbiCode<"qk_index_t", "isIndex">;
def QK_AbiRounding : QK_AbiCode<"qk_rounding_t", "isRounding", "roundingCode">;
def QK_AbiRopeStyle
    : QK_AbiCode<"qk_rope_style_t", "isRopeStyle", "ropeStyleCode">;
def QK_AbiRopeRounding
    : QK_AbiCode<"qk_rope_rounding_t", "isRopeRounding", "ropeRoundingCode">;

//===----------------------------------------------------------------------===//
// Words and members
//===----------------------------------------------------------------------===//

// One 64-bit word of the ciface row; its index is its position in the
// row's list. `param` names the ODS parameter of the attribute it encodes
// (the generated encoder reads it); empty: the lowering supplies the value
// (geometry, memref views, what the op rather than the step knows).
class QK_AbiWord<string n, QK_AbiType t, string d = ""> {
  string name = n;
  QK_AbiType type = t;
  string doc = d;
  string param = "";
}

// A word that carries the ODS parameter of the same name.
class QK_AbiParam<string p, QK_AbiType t, string d = "">
    : QK_AbiWord<p, t, d> {
  let param = p;
}

// One member of the C struct. `fromWord`: decoded from the row word of the
// same name (checked and converted as its type says); 0: filled by hand
// from the row's views (runtime/common/MemRefABI.cpp).
class QK_AbiMember<string n, QK_AbiType t, string d = ""> {
  string name = n;
  QK_AbiType type = t;
  string doc = d;
  bit fromWord = 1;
}

// A member the decoder fills by hand from a memref view of the row.
class QK_AbiViewMember<string n, QK_AbiType t, string d = "">
    : QK_AbiMember<n, t, d> {
  let fromWord = 0;
}

//===----------------------------------------------------------------------===//
// Rows
//===----------------------------------------------------------------------===//

// Mixed into an AttrDef: the step's C struct and ciface row.
//   abiStruct:     the C struct's typedef name (`qk_rope_t`);
//   abiRow:        the row's typedef name (`qk_ciface_rope_t`);
//   abiRowWords:   the macro holding the row's word count;
//   abiDiagPrefix: the prefix of the decoder's messages; "range %d: " takes
//                  the row's index.
class QK_AbiRow<string structName, string rowName, string wordsMacro,
                string diagPrefix> {
  string abiStruct = structName;
  string abiRow = rowName;
  string abiRowWords = wordsMacro;
  string abiDiagPrefix = diagPrefix;
  string abiStructDoc = "";
  string abiRowDoc = "";
  list<QK_AbiMember> abiStructMembers = [];
  list<QK_AbiWord> abiWords = [];
}

#endif // QK_DIALECT_QK_IR_QKABI_TD
