//===- AbiRows.cpp - The ABI rows of group steps, read from ODS -----------===//
//
// Reads the QK_AbiRow annotations and checks what every emitter relies on:
// unique names, a word behind every decoded member with the same type, a
// parameter of the attribute behind every parameter word with a C++ type
// the word's type can encode, and a struct member for every f32 word (the
// decoder writes the float straight into it).
//
//===----------------------------------------------------------------------===//

#include "AbiRows.h"

#include "mlir/TableGen/Dialect.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/TableGen/Error.h"
#include "llvm/TableGen/Record.h"

using namespace llvm;

namespace qk::tblgen {

namespace {

AbiType readType(const Record *def) {
  AbiType t;
  t.cType = def->getValueAsString("cType");
  t.pyType = def->getValueAsString("pyType");
  if (def->isSubClassOf("QK_AbiCode")) {
    t.kind = AbiKind::Code;
    t.isValid = def->getValueAsString("isValid");
    t.odsEncoder = def->getValueAsString("odsEncoder");
    return t;
  }
  StringRef name = def->getName();
  if (name == "QK_AbiI64")
    t.kind = AbiKind::I64;
  else if (name == "QK_AbiFlag")
    t.kind = AbiKind::Flag;
  else if (name == "QK_AbiF32")
    t.kind = AbiKind::F32;
  else if (name == "QK_AbiU32")
    t.kind = AbiKind::U32;
  else if (name == "QK_AbiPtr")
    t.kind = AbiKind::Ptr;
  else
    PrintFatalError(def, "unknown ABI type '" + name +
                             "' (the types are the defs of QKAbi.td)");
  return t;
}

/// Whether a parameter of C++ type `cppType` can be encoded as `type`.
bool encodable(const AbiType &type, StringRef cppType) {
  switch (type.kind) {
  case AbiKind::I64:
    return cppType == "int64_t";
  case AbiKind::Flag:
    return cppType == "bool";
  case AbiKind::F32:
    return cppType.contains("APFloat");
  case AbiKind::Code:
    return !type.odsEncoder.empty();
  case AbiKind::U32:
  case AbiKind::Ptr:
    return false;
  }
  return false;
}

} // namespace

std::string AbiRow::stepName() const {
  StringRef cls = attr.getCppClassName();
  cls.consume_back("Attr");
  return cls.str();
}

std::string AbiRow::mnemonic() const {
  return ("#" + attr.getDialect().getName() + "." +
          attr.getMnemonic().value_or(""))
      .str();
}

const AbiMember *AbiRow::memberOf(const AbiWord &word) const {
  for (const AbiMember &m : members)
    if (m.word == word.index)
      return &m;
  return nullptr;
}

std::vector<AbiRow> readAbiRows(const RecordKeeper &records) {
  std::vector<AbiRow> rows;
  for (const Record *def : records.getAllDerivedDefinitions("QK_AbiRow")) {
    if (!def->isSubClassOf("AttrDef"))
      PrintFatalError(def, "QK_AbiRow is mixed into an AttrDef");
    AbiRow &row = rows.emplace_back(def);
    row.structName = def->getValueAsString("abiStruct");
    row.rowName = def->getValueAsString("abiRow");
    row.wordsMacro = def->getValueAsString("abiRowWords");
    row.diagPrefix = def->getValueAsString("abiDiagPrefix");
    row.structDoc = def->getValueAsString("abiStructDoc").trim().str();
    row.rowDoc = def->getValueAsString("abiRowDoc").trim().str();
    if (!row.structName.ends_with("_t") || !row.rowName.ends_with("_t"))
      PrintFatalError(def, "ABI typedef names end in _t");

    StringSet<> names;
    auto wordDefs = def->getValueAsListOfDefs("abiWords");
    row.words.reserve(wordDefs.size());
    for (const Record *w : wordDefs) {
      AbiWord word;
      word.name = w->getValueAsString("name");
      word.type = readType(w->getValueAsDef("type"));
      word.doc = w->getValueAsString("doc").str();
      word.index = row.words.size();
      if (!names.insert(word.name).second)
        PrintFatalError(def,
                        row.rowName + ": two words named '" + word.name + "'");
      StringRef param = w->getValueAsString("param");
      if (!param.empty()) {
        auto params = row.attr.getParameters();
        auto it = llvm::find_if(
            params, [&](const auto &p) { return p.getName() == param; });
        if (it == params.end())
          PrintFatalError(def, row.rowName + " word '" + word.name +
                                   "': no ODS parameter '" + param + "' in " +
                                   row.attr.getCppClassName());
        if (!encodable(word.type, it->getCppType()))
          PrintFatalError(def, row.rowName + " word '" + word.name +
                                   "': its ABI type cannot encode the " +
                                   "parameter's C++ type '" + it->getCppType() +
                                   "'");
        word.param = *it;
      }
      row.words.push_back(std::move(word));
    }

    names.clear();
    for (const Record *m : def->getValueAsListOfDefs("abiStructMembers")) {
      AbiMember member;
      member.name = m->getValueAsString("name");
      member.type = readType(m->getValueAsDef("type"));
      member.doc = m->getValueAsString("doc").str();
      if (!names.insert(member.name).second)
        PrintFatalError(def, row.structName + ": two members named '" +
                                 member.name + "'");
      if (m->getValueAsBit("fromWord")) {
        auto it = llvm::find_if(
            row.words, [&](const AbiWord &w) { return w.name == member.name; });
        if (it == row.words.end())
          PrintFatalError(def, row.structName + " member '" + member.name +
                                   "' is decoded from a word of the same " +
                                   "name, which " + row.rowName + " lacks " +
                                   "(a member filled from views is a " +
                                   "QK_AbiViewMember)");
        if (it->type.cType != member.type.cType ||
            it->type.kind != member.type.kind)
          PrintFatalError(def, row.structName + " member '" + member.name +
                                   "' and its word have different types");
        member.word = it->index;
      }
      row.members.push_back(std::move(member));
    }
    for (const AbiWord &w : row.words)
      if (w.type.kind == AbiKind::F32 &&
          llvm::none_of(row.members,
                        [&](const AbiMember &m) { return m.word == w.index; }))
        PrintFatalError(def, row.rowName + " f32 word '" + w.name +
                                 "' needs a struct member of the same name");
  }
  return rows;
}

std::string wrap(StringRef text, StringRef prefix, unsigned width) {
  SmallVector<StringRef> words;
  text.split(words, ' ', -1, /*KeepEmpty=*/false);
  SmallVector<StringRef> all;
  for (StringRef w : words) {
    SmallVector<StringRef> parts;
    w.split(parts, '\n', -1, /*KeepEmpty=*/false);
    for (StringRef p : parts)
      if (!p.trim().empty())
        all.push_back(p.trim());
  }
  std::string out, line = prefix.str();
  bool empty = true;
  for (StringRef w : all) {
    if (!empty && line.size() + 1 + w.size() > width) {
      out += StringRef(line).rtrim().str() + "\n";
      line = prefix.str();
      empty = true;
    }
    line += (empty ? "" : " ") + w.str();
    empty = false;
  }
  if (!empty)
    out += line + "\n";
  return out;
}

} // namespace qk::tblgen
