// Hostile YAML documents shared by the tests of every YAML loader (config, simulator, scenarios).
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace kmslab::test {

// "l0: &l0 x" then "l1: &l1 [*l0, *l0, ...]" for `levels` levels of `width` aliases each, every
// line prefixed by `indent`: a few hundred bytes that a tree walk expands to width^levels nodes.
inline std::string alias_bomb(int levels, int width, std::string_view indent = "") {
  std::string text = fmt::format("{}l0: &l0 x\n", indent);
  for (int level = 1; level <= levels; ++level) {
    std::string items;
    for (int i = 0; i < width; ++i) items += fmt::format("{}*l{}", i == 0 ? "" : ", ", level - 1);
    text += fmt::format("{}l{}: &l{} [{}]\n", indent, level, level, items);
  }
  return text;
}

}  // namespace kmslab::test
