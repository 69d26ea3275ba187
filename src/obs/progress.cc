#include "obs/progress.h"

#include <unistd.h>

namespace spate {

bool StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

}  // namespace spate
