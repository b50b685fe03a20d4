/* proclist.c - placeholder until implemented */
#include "error.h"
typedef int ms_placeholder_proclist;
