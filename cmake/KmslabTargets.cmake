# Shared compile settings live in INTERFACE targets, never in global flags, so a library can opt in.
add_library(kmslab_warnings INTERFACE)
add_library(kmslab::warnings ALIAS kmslab_warnings)
target_compile_options(kmslab_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Woverloaded-virtual -Wimplicit-fallthrough
  # GCC 12 reports coroutine frames allocated by Asio as mismatched new/delete at -O1+ (a false
  # positive; fixed in GCC 13).
  $<$<CXX_COMPILER_ID:GNU>:-Wno-mismatched-new-delete>
  # GCC 12 at -O2/-O3 reports std::string assignment and concatenation as overlapping memcpy
  # (-Wrestrict false positive, GCC bug 105329; fixed in GCC 13): the Release build stops on it.
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>
  # GCC 12 with the sanitizers at -O1 reports boost::system::result's variant storage (moved
  # through coroutine frames and inlined constructors) as maybe-uninitialized. The release build
  # (-O2, no sanitizers) keeps the warning; ASan itself checks the real thing at run time.
  $<$<AND:$<CXX_COMPILER_ID:GNU>,$<BOOL:${KMSLAB_SANITIZE}>>:-Wno-maybe-uninitialized>
  # In a unity build each source is #included by the batch file, so GCC takes a coroutine frame
  # holding a type from that source's anonymous namespace for a header type with internal
  # linkage; the warning is meant for real headers, which a normal build still checks.
  $<$<AND:$<CXX_COMPILER_ID:GNU>,$<BOOL:${KMSLAB_UNITY}>>:-Wno-subobject-linkage>
  $<$<BOOL:${KMSLAB_WERROR}>:-Werror>)

# kmslab_library(name DIR dir DEPS ...): a library whose public headers are under
# <dir>/include/kmslab/<dir>/ and sources under <dir>/src/. Sources are globbed so that
# several people can add files to one module without editing the same CMake list.
function(kmslab_library name)
  cmake_parse_arguments(ARG "" "" "PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/src/*.cpp")
  if(NOT srcs)
    return()  # module not started yet; dependants test `if(TARGET kmslab::<name>)`
  endif()
  add_library(kmslab_${name} STATIC ${srcs})
  add_library(kmslab::${name} ALIAS kmslab_${name})
  target_include_directories(kmslab_${name} PUBLIC "${CMAKE_CURRENT_SOURCE_DIR}/include")
  target_link_libraries(kmslab_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS} kmslab::warnings)
endfunction()
