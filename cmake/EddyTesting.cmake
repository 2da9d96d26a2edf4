# eddy_add_gtest(<name> SOURCES <src>... [LIBS <lib>...] [DEFINITIONS <def>...]
#                [TIMEOUT <seconds>])
#
# Builds a GoogleTest executable and registers each TEST as its own CTest test, prefixed with
# "<name>." so suites from different folders cannot collide. Discovery runs at test time
# (PRE_TEST) so a plain build never executes test binaries.
function(eddy_add_gtest name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS;DEFINITIONS" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "eddy_add_gtest(${name}): SOURCES is required")
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} eddy_warnings GTest::gtest GTest::gmock
                        GTest::gtest_main Threads::Threads)
  if(ARG_DEFINITIONS)
    target_compile_definitions(${name} PRIVATE ${ARG_DEFINITIONS})
  endif()
  gtest_discover_tests(${name}
    TEST_PREFIX "${name}."
    DISCOVERY_MODE PRE_TEST
    PROPERTIES TIMEOUT ${ARG_TIMEOUT})
endfunction()
