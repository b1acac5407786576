/**
 * The MI command table, filled from module manifests (the core's own included). Each command is
 * reached by its full name `module:command` and by its aliases: `module_command` always, the
 * bare name for the core's commands (`uptime`), and the classic names a manifest lists
 * (`ul_dump`). A name taken twice is a programmer error found at start-up.
 */
import { CoreError } from '../core/errors.js';
import type { MiCommandSink } from '../module/install.js';
import type { MiCommandDefinition, MiRecipe } from '../module/mi-types.js';

/** A registered command. */
export interface MiCommand {
  /** `module:command`. */
  readonly fullName: string;
  readonly module: string;
  readonly name: string;
  /** Every other name it answers to. */
  readonly aliases: readonly string[];
  readonly description: string;
  readonly recipes: readonly MiRecipe[];
  readonly handler: MiCommandDefinition['handler'];
}

const NO_PARAMS: readonly MiRecipe[] = [{ params: [] }];

export class MiRegistry implements MiCommandSink {
  private readonly byName = new Map<string, MiCommand>();
  private readonly commands: MiCommand[] = [];

  add(module: string, def: MiCommandDefinition): void {
    const fullName = `${module}:${def.name}`;
    const aliases = [module === 'core' ? def.name : `${module}_${def.name}`];
    for (const alias of def.aliases ?? []) {
      if (!aliases.includes(alias)) {
        aliases.push(alias);
      }
    }
    const cmd: MiCommand = {
      fullName,
      module,
      name: def.name,
      aliases,
      description: def.description,
      recipes: def.recipes ?? NO_PARAMS,
      handler: def.handler,
    };
    for (const name of [fullName, ...aliases]) {
      const taken = this.byName.get(name);
      if (taken !== undefined) {
        throw new CoreError(
          'TANDEM_ERR_INVALID_ARGUMENT',
          `MI name ${name} (${fullName}) is already taken by ${taken.fullName}`,
        );
      }
    }
    for (const name of [fullName, ...aliases]) {
      this.byName.set(name, cmd);
    }
    this.commands.push(cmd);
  }

  /** The command a method name designates (case-sensitive, as OpenSIPS). */
  get(method: string): MiCommand | undefined {
    return this.byName.get(method);
  }

  /** Every command, in registration order. */
  list(): readonly MiCommand[] {
    return this.commands;
  }
}
