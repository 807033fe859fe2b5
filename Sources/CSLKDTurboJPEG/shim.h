// libjpeg-turbo's TurboJPEG API: whole-image encode and decode that report errors by return
// value (libjpeg's own API reports them through longjmp, which Swift cannot catch).
#include <turbojpeg.h>
