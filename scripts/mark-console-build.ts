// The end of `npm run build`: the console build next made is recorded as of the sources as they are,
// so `fm-agent start` serves it instead of building again (server/next-build.ts). An image built as
// the installation's owner can then be started by a user who cannot write to it.
import { INSTALL_ROOT, markBuilt } from '../server/next-build.ts'

markBuilt(INSTALL_ROOT)
