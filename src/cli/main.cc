#include "cli/app.h"

int main(int argc, char** argv) {
  return eddy::cli::run_cli(argc, argv);
}
