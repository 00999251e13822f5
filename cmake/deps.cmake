# Every dependency comes from Debian bookworm packages (DESIGN.md section 10);
# scripts/deps.sh installs them.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(LIBUV REQUIRED IMPORTED_TARGET libuv)
find_package(simdjson REQUIRED)
find_package(yaml-cpp REQUIRED)

# llhttp: Debian's node-llhttp ships the generated C sources; compile them here.
set(LLHTTP_SRC_DIR /usr/share/llhttp)
set(LLHTTP_INCLUDE_DIR /usr/share/include/llhttp)
if(NOT EXISTS ${LLHTTP_SRC_DIR}/llhttp.c)
  message(FATAL_ERROR "llhttp sources not found in ${LLHTTP_SRC_DIR}: run scripts/deps.sh (package node-llhttp)")
endif()
add_library(llhttp STATIC ${LLHTTP_SRC_DIR}/llhttp.c ${LLHTTP_SRC_DIR}/api.c ${LLHTTP_SRC_DIR}/http.c)
target_include_directories(llhttp SYSTEM PUBLIC ${LLHTTP_INCLUDE_DIR})
# Strict mode: CR must be followed by LF, no whitespace before a field's
# colon, and the other leniencies a gateway must not have (they are how
# requests get smuggled past one parser and not another).
target_compile_definitions(llhttp PRIVATE LLHTTP_STRICT_MODE=1)
target_compile_options(llhttp PRIVATE -w)
set_target_properties(llhttp PROPERTIES POSITION_INDEPENDENT_CODE ON)

# BoringSSL from android-libboringssl-dev: its own include and library
# directories, linked with an rpath so OpenSSL is never picked up instead.
set(BORINGSSL_INCLUDE_DIR /usr/include/android)
set(BORINGSSL_LIB_DIR /usr/lib/x86_64-linux-gnu/android)
if(NOT EXISTS ${BORINGSSL_LIB_DIR}/libssl.so)
  message(FATAL_ERROR "BoringSSL not found in ${BORINGSSL_LIB_DIR}: run scripts/deps.sh (package android-libboringssl-dev)")
endif()
add_library(boringssl INTERFACE)
target_include_directories(boringssl SYSTEM INTERFACE ${BORINGSSL_INCLUDE_DIR})
target_link_libraries(boringssl INTERFACE ${BORINGSSL_LIB_DIR}/libssl.so ${BORINGSSL_LIB_DIR}/libcrypto.so)
target_link_options(boringssl INTERFACE "-Wl,-rpath,${BORINGSSL_LIB_DIR}")

if(PLEXGATE_MIMALLOC)
  find_package(mimalloc REQUIRED)
endif()
