// The C target needs one translation unit; everything berth needs from QuickJS is in include/shim.h.
#include "shim.h"
