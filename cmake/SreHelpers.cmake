# Helpers that declare an agent's targets in one line each (in the spirit of leveldb_test()).
#
#   sre_library(detection_core SOURCES detector.cpp service.cpp DEPS sre_shared)
#   sre_executable(sre-detection SOURCES main.cpp DEPS detection_core)
#   sre_test(detection_test SOURCES detector_test.cpp DEPS detection_core LABELS unit)
#
# Integration and e2e tests that need the native stack add FIXTURES sre_stack.

# The precompiled headers of CMakeLists.txt (SRE_PCH): `kind` is "" or "_test".
function(sre_use_pch name kind)
  if(SRE_PCH)
    target_precompile_headers(${name} REUSE_FROM sre_pch${kind})
  endif()
endfunction()

function(sre_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  sre_use_pch(${name} "")
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

function(sre_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  sre_use_pch(${name} "")
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
  # The `executables` target (what `make build` and the image build) and `benchmarks`.
  if(name MATCHES "^sre-bench")
    set_property(GLOBAL APPEND PROPERTY SRE_BENCHMARKS ${name})
  else()
    set_property(GLOBAL APPEND PROPERTY SRE_EXECUTABLES ${name})
  endif()
endfunction()

# LABELS: unit | integration | e2e, plus optional extra labels (e.g. reliability: `make test` runs
# every label; `ctest -L reliability` the reliability suite). Tests labelled integration or e2e get a native stack fixture
# (Redis, PostgreSQL, sre-devbroker, MailDev on free ports) and its env file in SRE_STACK_ENV.
function(sre_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  sre_use_pch(${name} "_test")
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
    ENVIRONMENT "SRE_BIN_DIR=${PROJECT_BINARY_DIR}/bin;SRE_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  # e2e tests run the real executables, which consume whole topics: they get a stack of their
  # own, so what integration tests publish meanwhile (e.g. the simulator's) cannot reach them.
  if("e2e" IN_LIST ARG_LABELS)
    set_property(TEST ${name} APPEND PROPERTY FIXTURES_REQUIRED sre_e2e_stack)
    set_property(TEST ${name} APPEND PROPERTY ENVIRONMENT
      "SRE_STACK_ENV=${PROJECT_BINARY_DIR}/e2e-stack/stack.env")
  elseif(NOT "unit" IN_LIST ARG_LABELS)
    set_property(TEST ${name} APPEND PROPERTY FIXTURES_REQUIRED sre_stack)
    set_property(TEST ${name} APPEND PROPERTY ENVIRONMENT
      "SRE_STACK_ENV=${PROJECT_BINARY_DIR}/test-stack/stack.env")
  endif()
endfunction()
