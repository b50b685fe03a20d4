# A long warning list in the spirit of curl's PickyWarnings: the cheap way to find bugs is to let
# the compiler look first.  -Werror only where asked (CI), so a newer compiler never breaks a user's build.
set(MEMSCOPE_WARNINGS
  -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Wundef -Wcast-align
  -Wstrict-prototypes -Wmissing-prototypes -Wold-style-definition -Wpointer-arith
  -Wwrite-strings -Wnull-dereference -Wdouble-promotion -Wvla -Wimplicit-fallthrough
  -Wno-unused-parameter)
add_compile_options(${MEMSCOPE_WARNINGS})
if(MEMSCOPE_WERROR)
  add_compile_options(-Werror)
endif()
