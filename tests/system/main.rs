//! System tests of SecCom through the local stack: real DynamoDB and S3 wire
//! protocols, the ALB stand-in building genuine ALB events, and the functions
//! fed those events in-process.

mod accuracy;
mod alarm_chain;
mod audit;
mod auth;
mod bad_input;
mod crud;
mod detection;
mod devices;
mod edge;
mod erasure;
mod escalation;
mod events;
mod export;
mod false_alarms;
mod faults;
mod health;
mod iam;
mod openapi;
mod outbound;
mod persistence;
mod privacy;
mod push;
mod queue;
mod recipients;
mod response;
mod retention;
mod sign_in;
mod tenancy;
