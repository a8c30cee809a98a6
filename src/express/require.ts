// CommonJS entry: `require('coatcheck/express')` returns the middleware factory itself, with the
// classes and helpers attached, as `require('express-session')` does.
import * as api from './index.js';

const factory = Object.assign(api.session, api, { default: api.session });
export = factory;
