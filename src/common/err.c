/* err.c - names for the SL_E* codes; SL_ESYS is errno's (see sl.h). */
#include <errno.h>
#include <string.h>

#include "sl.h"

const char *
sl_strerror(int err)
{
	switch (err) {
	case SL_OK:         return "success";
	case SL_EINVAL:     return "invalid argument";
	case SL_ELEN:       return "wrong length";
	case SL_EDECRYPT:   return "decryption failed";
	case SL_EPARSE:     return "malformed packet";
	case SL_EVERSION:   return "unknown wire version";
	case SL_EAUTH:      return "authentication failed";
	case SL_ESTALE:     return "timestamp outside window";
	case SL_EREPLAY:    return "replayed packet";
	case SL_EFULL:      return "table full";
	case SL_EDENIED:    return "not permitted";
	case SL_ENOTASCII:  return "payload is not printable ASCII";
	case SL_EBUSY:      return "too many scripts running";
	case SL_ESYS:       return errno != 0 ? strerror(errno) : "system error";
	case SL_ECRYPTO:    return "crypto library error";
	case SL_EKEY:       return "bad key material";
	case SL_EPERM:      return "unsafe file permissions";
	case SL_ECONFIG:    return "bad configuration";
	case SL_ENOENT:     return "not found";
	case SL_ECORRUPT:   return "corrupt state";
	case SL_ETOOBIG:    return "too big";
	case SL_ERATE:      return "over rate budget";
	case SL_EDUP:       return "duplicate datagram";
	case SL_EPROTO:     return "protocol error between the processes";
	case SL_ENOTSUP:    return "not supported here";
	}
	return "unknown error";
}
