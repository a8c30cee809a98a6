import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';

/** Lets a request through when its session is signed in: Nest's form of coatcheck's `requireAuth()`. */
@Injectable()
export class SignedInGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request>();
    return Boolean(request.session.meta?.userId);
  }
}
