export {
  type ClassAccuracy,
  type EvaluatedModel,
  type EvaluateOptions,
  type Evaluation,
  evaluateModel,
  evaluateSession,
} from './evaluate-model.ts';
