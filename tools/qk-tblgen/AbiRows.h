//===- AbiRows.h - The ABI rows of group steps, read from ODS --*- C++ -*-===//
//
// The model every qk-tblgen ABI backend emits from: for each AttrDef that
// mixes in QK_AbiRow (include/qk/Dialect/QK/IR/QKAbi.td), its C struct
// members and its ciface row words, checked against each other and against
// the attribute's ODS parameters, so that the emitters need no checks.
//
//===----------------------------------------------------------------------===//

#ifndef QK_TOOLS_QK_TBLGEN_ABIROWS_H
#define QK_TOOLS_QK_TBLGEN_ABIROWS_H

#include "mlir/TableGen/AttrOrTypeDef.h"

#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>
#include <vector>

namespace llvm {
class RecordKeeper;
} // namespace llvm

namespace qk::tblgen {

/// What a value is, which decides how a word is checked, converted and
/// encoded (the defs of QKAbi.td).
enum class AbiKind { I64, Flag, F32, U32, Ptr, Code };

struct AbiType {
  AbiKind kind;
  llvm::StringRef cType;      // of a struct member
  llvm::StringRef pyType;     // ctypes
  llvm::StringRef isValid;    // Code: the runtime's predicate
  llvm::StringRef odsEncoder; // Code: the lowering's ODS enum -> code
};

struct AbiWord {
  llvm::StringRef name;
  AbiType type;
  std::string doc;
  unsigned index;
  /// The ODS parameter the word carries, if any.
  std::optional<mlir::tblgen::AttrOrTypeParameter> param;
};

struct AbiMember {
  llvm::StringRef name;
  AbiType type;
  std::string doc;
  /// The index of the row word it is decoded from; none: filled by hand
  /// from the row's views.
  std::optional<unsigned> word;
};

struct AbiRow {
  explicit AbiRow(const llvm::Record *def) : attr(def) {}
  mlir::tblgen::AttrDef attr;
  llvm::StringRef structName, rowName, wordsMacro, diagPrefix;
  std::string structDoc, rowDoc;
  std::vector<AbiWord> words;
  std::vector<AbiMember> members;

  /// The member decoded from `word`, or null.
  const AbiMember *memberOf(const AbiWord &word) const;
  /// `qk_rope_t` -> `qk_rope` (the struct tag).
  llvm::StringRef structTag() const { return structName.drop_back(2); }
  llvm::StringRef rowTag() const { return rowName.drop_back(2); }
  /// Whether the decoder's messages take the row's index.
  bool indexed() const { return diagPrefix.contains("%d"); }
  /// The attribute's class without "Attr" (`RopeStep`).
  std::string stepName() const;
  /// `#qk.rope`.
  std::string mnemonic() const;
};

/// The rows of every QK_AbiRow in definition order. Reports inconsistent
/// annotations with PrintFatalError (the build stops).
std::vector<AbiRow> readAbiRows(const llvm::RecordKeeper &records);

/// `text` (an ODS code block) as one paragraph wrapped at `width` columns,
/// each line prefixed with `prefix`.
std::string wrap(llvm::StringRef text, llvm::StringRef prefix,
                 unsigned width = 79);

} // namespace qk::tblgen

#endif // QK_TOOLS_QK_TBLGEN_ABIROWS_H
