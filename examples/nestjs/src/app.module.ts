import { Module } from '@nestjs/common';
import { AccountController } from './account.controller.js';
import { AccountsService } from './accounts.service.js';

@Module({ controllers: [AccountController], providers: [AccountsService] })
export class AppModule {}
