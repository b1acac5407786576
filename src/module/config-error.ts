/**
 * A module's configuration fault found at init (a parameter that needs a `clusterer` section, a
 * cluster this node is not in): reported as TANDEM_ERR_CONFIG naming `modules.<name>.<field>`,
 * like the faults the parameter schema finds, rather than as a failed module.
 */
import { CoreError } from '../core/errors.js';

/** `field`: the parameter's full path (`modules.usrloc.working_mode_preset`). */
export function configError(field: string, detail: string): CoreError {
  return new CoreError('TANDEM_ERR_CONFIG', `${field}: ${detail}`);
}
