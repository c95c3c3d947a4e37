# One function makes every opsgate library: a static library with an
# opsgate::NAME alias, the project's warnings and (optionally) sanitizers.
# Includes are rooted at the repository: #include "src/core/error.hpp".

function(opsgate_apply_options target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Woverloaded-virtual -Wimplicit-fallthrough
    # GCC 12 reports Asio's coroutine frame allocator as mismatched new/delete
    # (a known false positive with coroutine frames); nothing of ours is concerned.
    -Wno-mismatched-new-delete)
  # GCC 12 at -O3 reports `"literal" + std::string` as an overlapping memcpy
  # (-Wrestrict false positive inside libstdc++'s operator+, GCC PR 105329 and
  # 105651, fixed in GCC 13). Off for GCC 12 only, so -Werror release builds pass.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
  if(OPSGATE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(OPSGATE_CODE_ORDER)
    # One section per function, so the link can order, fold and drop them
    # one by one (src/CMakeLists.txt).
    target_compile_options(${target} PRIVATE -ffunction-sections)
  endif()
  if(OPSGATE_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    target_link_options(${target} PUBLIC -fsanitize=address,undefined)
  endif()
  if(OPSGATE_FUZZ)
    # Coverage for libFuzzer; the fuzz targets link libFuzzer itself (fuzz/CMakeLists.txt).
    # -fno-sanitize=function: clang 14's assembler cannot emit that check's
    # prologue data beside coverage counters in coroutine frames ("Cannot
    # represent a difference across sections"); GCC never had the check.
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link -fno-sanitize=function)
  endif()
endfunction()

function(opsgate_library NAME)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  if(NOT ARG_SOURCES)
    # A folder whose sources are not written yet: headers only.
    add_library(${NAME} INTERFACE)
    add_library(opsgate::${NAME} ALIAS ${NAME})
    target_include_directories(${NAME} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${NAME} INTERFACE ${ARG_DEPS})
    return()
  endif()
  add_library(${NAME} STATIC ${ARG_SOURCES})
  add_library(opsgate::${NAME} ALIAS ${NAME})
  target_include_directories(${NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${NAME} PUBLIC ${ARG_DEPS})
  target_compile_definitions(${NAME} PUBLIC BOOST_ASIO_NO_DEPRECATED)
  opsgate_apply_options(${NAME})
endfunction()
