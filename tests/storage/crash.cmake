# Kill -9 crash test: storage_crash_test forks storage_crash_child, kills it at random moments
# and checks that every acknowledged append survived. Included from tests/storage/CMakeLists.txt.
add_executable(storage_crash_child ${CMAKE_CURRENT_LIST_DIR}/crash_child.cc)
target_link_libraries(storage_crash_child PRIVATE eddy_storage eddy_test_support eddy_warnings
                      Threads::Threads)

eddy_add_gtest(storage_crash_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/crash_test.cc
  LIBS eddy_storage eddy_test_support
  DEFINITIONS CRASH_CHILD_BINARY="$<TARGET_FILE:storage_crash_child>"
  TIMEOUT 300)
# The test execs the child by path, so building the test must build the child.
add_dependencies(storage_crash_test storage_crash_child)
