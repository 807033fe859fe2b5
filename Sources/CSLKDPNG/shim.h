// libpng's simplified png_image API: no setjmp/longjmp, which Swift cannot call.
#include <png.h>
