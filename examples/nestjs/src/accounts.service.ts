import { Injectable } from '@nestjs/common';

export interface Account {
  id: string;
  name: string;
}

/** A stand-in user directory; a real app checks a password hash (argon2id) here. */
@Injectable()
export class AccountsService {
  readonly #accounts = new Map([['alice', { id: 'u-alice', name: 'Alice', password: 'alice-password' }]]);

  verify(username: string, password: string): Account | null {
    const found = this.#accounts.get(username);
    return found && found.password === password ? { id: found.id, name: found.name } : null;
  }
}
