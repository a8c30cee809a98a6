import {
  Body,
  Controller,
  Get,
  HttpCode,
  Post,
  Session,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import type { TypedSession } from 'coatcheck/express';
// A value import: Nest's dependency injection reads the constructor's parameter types at run time.
import { AccountsService } from './accounts.service.js';
import { SignedInGuard } from './signed-in.guard.js';

/**
 * This app's session data. A CommonJS build sees 'coatcheck/express' through `export =`, which
 * TypeScript cannot augment, so the keys are declared here rather than by merging into SessionData.
 */
type AppSession = TypedSession & { name?: string; cart?: string[] };

@Controller()
export class AccountController {
  constructor(private readonly accounts: AccountsService) {}

  @Post('cart')
  @HttpCode(200)
  addToCart(@Body() body: { item: string }, @Session() session: AppSession) {
    session.cart = [...(session.cart ?? []), String(body.item)];
    return { cart: session.cart };
  }

  @Post('login')
  @HttpCode(200)
  async login(@Body() body: { username: string; password: string }, @Session() session: AppSession) {
    const account = this.accounts.verify(String(body.username), String(body.password));
    if (!account) throw new UnauthorizedException();
    // login() rotates the token and puts a new Session on the request: what it must carry over is
    // set before and named in `keep` (the cart survives sign-in; anything else is dropped, S19).
    session.name = account.name;
    await session.login(account.id, { keep: ['name', 'cart'] });
    return { userId: account.id };
  }

  @Get('me')
  @UseGuards(SignedInGuard)
  me(@Session() session: AppSession) {
    return { userId: session.meta?.userId, name: session.name, cart: session.cart ?? [] };
  }

  @Post('logout')
  @HttpCode(200)
  async logout(@Session() session: AppSession) {
    await session.logout();
    return { ok: true };
  }
}
